"""The feature visualizer and the inversion explorer driven headlessly: a run per setting, live
previews, the cache, cancel, and errors as one line."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlens
from cnnlens.featurevis import Param, channel, jitter, pad, render
from cnnlens.inversion import invert
from cnnlens.widgets.featurevis import FeatureVisualizer
from cnnlens.widgets.inversion import InversionExplorer
from tests.small_nets import fixed_size_net
from tests.snapshot import assert_unchanged, snapshot


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


@pytest.fixture
def widget(shapes):
    w = FeatureVisualizer(shapes, layer="relu3", unit=4, background=False, preview_every=4)
    w.controls["steps"].value = 8
    for name in ("scale", "rotate"):
        w.controls[name].value = False
    return w


def test_run_shows_the_render_of_the_chosen_setting(widget, shapes):
    widget.run()
    assert not widget.status.is_error, widget.status.text
    expected = render(
        shapes,
        channel("relu3", 4),
        steps=8,
        transforms=[pad(6), jitter(4), jitter(2)],  # lucid's amounts at 64 px, scale and rotate off
        param=Param(),
    )
    assert torch.equal(widget.current.images, expected.images)
    shown = decode(widget.view.value)
    step = shown.shape[0] // 68
    tile = shown[::step, ::step][2:66, 2:66]  # one 64 px image in a 2 px frame, upscaled
    assert np.abs(tile - expected.images[0].permute(1, 2, 0).numpy()).max() <= 1 / 255 + 1e-6
    assert widget.status.text.startswith("channel · relu3 read at bn3 · objective ")


def test_the_preview_updates_every_few_steps(widget):
    shown = []
    widget.view.observe(lambda change: shown.append(change["new"]), "value")
    widget.run()
    assert len(shown) == 2  # after steps 4 and 8; the final picture is that of step 8


def test_a_revisited_setting_comes_from_the_cache(widget):
    widget.run()
    first = widget.current
    widget.controls["unit"].value = 5
    widget.run()
    assert widget.current is not first
    widget.controls["unit"].value = 4
    widget.run()
    assert widget.current is first
    widget.controls["class"].value = 3  # a control the channel objective does not read
    widget.run()
    assert widget.current is first


def test_objectives_and_the_relevant_controls(widget, shapes):
    widget.controls["objective"].value = "class probability"
    assert widget.controls["unit"].layout.display == "none"
    assert widget.controls["class"].layout.display == ""
    widget.controls["class"].value = 7
    widget.run()
    assert widget.status.text.startswith("class probability · <output> read at <output>")
    widget.controls["objective"].value = "channel + diversity"
    widget.controls["batch"].value = 1
    widget.run()
    assert widget.status.is_error
    assert widget.status.text == "⚠ a diversity objective needs a batch of at least 2 images"
    widget.controls["batch"].value = 2
    widget.run()
    assert not widget.status.is_error and widget.current.images.shape[0] == 2


def test_cancel_stops_the_render_and_leaves_the_model_unchanged(shapes):
    widget = FeatureVisualizer(shapes, layer="relu4_2", unit=1)  # background thread
    widget.controls["steps"].value = 512
    before = snapshot(shapes.net)
    widget.run()
    widget.runner.cancel()
    widget.runner.wait(30)
    assert not widget.runner.running
    assert widget.status.text.startswith("⏹ cancelled") and not widget.status.is_error
    assert widget.current is None
    assert_unchanged(before, shapes.net)


def test_changing_layer_clamps_the_unit(widget):
    widget.controls["unit"].value = 90
    widget.controls["layer"].value = "relu2"
    assert widget.controls["unit"].max == 47 and widget.controls["unit"].value == 47


@pytest.fixture
def inversion(shapes):
    w = InversionExplorer(shapes, layer="relu1", background=False, preview_every=5)
    w.controls["steps"].value = 10
    return w


def test_the_inversion_explorer_shows_the_reconstruction_beside_the_original(inversion, shapes):
    inversion.run()
    assert not inversion.status.is_error, inversion.status.text
    expected = invert(shapes, inversion.picker.image[None], "relu1", steps=10)
    assert torch.equal(inversion.current.images, expected.images)
    original = decode(inversion.original_view.value)
    step = original.shape[0] // 64
    image = inversion.picker.image.permute(1, 2, 0).numpy()
    assert np.abs(original[::step, ::step] - image).max() <= 1 / 255 + 1e-6
    shown = decode(inversion.view.value)[::step, ::step]
    assert np.abs(shown - expected.images[0].permute(1, 2, 0).numpy()).max() <= 1 / 255 + 1e-6
    assert inversion.status.text == (
        f"relu1 · relative code error ‖Φ(x) − Φ0‖ / ‖Φ0‖ = {expected.error[0]:.3f}"
    )


def test_the_inversion_explorer_caches_and_reports_errors(inversion):
    inversion.run()
    first = inversion.current
    inversion.controls["layer"].value = "relu2"
    inversion.run()
    assert inversion.current is not first and inversion.current.layer == "relu2"
    inversion.controls["layer"].value = "relu1"
    inversion.run()
    assert inversion.current is first
    inversion.controls["layer"].value = "relu4_2"
    inversion.controls["field"].value = 5
    inversion.run()
    assert "relu4_2 (central 5×5)" in inversion.status.text
    inversion.controls["layer"].value = "gap"  # a 1×1 map: no central 5×5
    inversion.run()
    assert inversion.status.text == "⚠ field 5 must be between 1 and the layer's 1×1 map"


def test_a_fixed_size_model_lists_its_layers_and_renders_at_its_size():
    torch.manual_seed(0)
    model = cnnlens.load(fixed_size_net(), input_size=32, class_names=("a", "b", "c", "d"))
    widget = FeatureVisualizer(model, background=False)
    widget.controls["steps"].value = 4
    widget.controls["objective"].value = "class logit"  # the whole network, head included
    widget.run()
    assert not widget.status.is_error, widget.status.text
    assert widget.current.images.shape[-2:] == (32, 32)


def test_decorrelated_colour_is_offered_only_where_the_model_has_colour_statistics(shapes):
    """Param.for_model decorrelates by the handle's covariance; a plain module has none, so the
    toggle would change nothing: it is off and disabled there."""
    offered = FeatureVisualizer(shapes, layer="relu3", background=False).controls["decorrelate"]
    plain = FeatureVisualizer(shapes.net, layer="relu3", background=False).controls["decorrelate"]
    assert (offered.value, offered.disabled) == (True, False)
    assert (plain.value, plain.disabled) == (False, True)
