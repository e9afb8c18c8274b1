"""The backprop explorer driven headlessly: three rules side by side for any unit."""

import io
import warnings
from itertools import combinations

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlens
from cnnlens.attribution import input_gradient, unit
from cnnlens.attribution.patches import gradient_patches
from cnnlens.data import ShapeWorld
from cnnlens.plot import gradient_picture, to_numpy
from cnnlens.stimuli import top_examples
from cnnlens.widgets import BackpropExplorer
from cnnlens.widgets._views import is_placeholder


@pytest.fixture
def explorer(shapes):
    return BackpropExplorer(shapes, layer="relu4_2", unit=3)


def test_each_view_shows_its_rule_for_the_chosen_unit(explorer, shapes):
    explorer.unit.value = 5
    image = explorer.picker.image[None]
    for rule, view in explorer.views.items():
        expected = gradient_picture(
            to_numpy(input_gradient(shapes, image, unit("relu4_2", 5), rule=rule)[0])
        )
        shown = np.asarray(Image.open(io.BytesIO(view.value)).convert("RGB"), np.float32) / 255
        scale = shown.shape[0] // 64
        assert np.abs(shown[::scale, ::scale] - expected).max() <= 1 / 255 + 1e-6, rule
    assert explorer.status.text == "relu4_2 · unit 5 (mean over positions) · gray = 0"


def test_the_three_rules_differ_and_layers_clamp_the_unit(explorer):
    maps = list(explorer.current.values())
    assert all(not np.allclose(a.numpy(), b.numpy()) for a, b in combinations(maps, 2))
    explorer.unit.value = 120
    explorer.layer.value = "relu2"
    assert explorer.unit.max == 47 and explorer.unit.value == 47
    assert not explorer.status.is_error


def test_revisited_settings_come_from_the_cache(explorer):
    first = explorer.current
    explorer.unit.value = 4
    explorer.unit.value = 3
    assert explorer.current is first


def test_scan_adds_gradient_patches_for_the_chosen_unit(shapes):
    world = ShapeWorld(length=60, seed=43)
    explorer = BackpropExplorer(shapes, layer="relu4_1", images=world, background=False)
    assert explorer.patches is None and is_placeholder(explorer.crops_view)
    explorer.runner.run_button.click()
    explorer.unit.value = 6
    expected = gradient_patches(
        shapes, top_examples(shapes, "relu4_1", images=world, k=9), 6, images=world
    )
    assert explorer.patches.unit == 6
    assert torch.equal(explorer.patches.gradients, expected.gradients)
    assert explorer.crops_view.value and explorer.patches_view.value
    assert not is_placeholder(explorer.crops_view)
    explorer.layer.value = "relu3"  # not scanned: the patch views say so until the next scan
    assert explorer.patches is None and is_placeholder(explorer.patches_view)


def test_status_says_which_activations_have_no_rule():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.SiLU(), torch.nn.Conv2d(4, 4, 3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 28 * 28, 2),
    )  # fmt: skip
    model = cnnlens.load(net, input_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said in the status line, not as a warning
        explorer = BackpropExplorer(model, layer="2", images=torch.rand(4, 3, 32, 32))
    assert not explorer.status.is_error
    for rule in ("deconvnet", "guided"):
        assert (
            f"{rule}: 1 activations are not ReLUs (SiLU ×1) and have no {rule} rule; "
            "they pass the plain gradient" in explorer.status.text
        )
