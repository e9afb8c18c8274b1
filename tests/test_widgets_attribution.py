"""The attribution explorer driven headlessly: every method, targets, options, errors, cache."""

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlens
from cnnlens.attribution import occlusion, saliency
from cnnlens.errors import CnnlensError
from cnnlens.plot import heat
from cnnlens.widgets import AttributionExplorer
from cnnlens.widgets.attribution import METHODS
from tests.snapshot import assert_unchanged, snapshot


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


@pytest.fixture
def explorer(shapes):
    widget = AttributionExplorer(shapes, method="saliency", background=False)
    widget.options["samples"].value = 2
    widget.options["steps"].value = 4
    return widget


def test_every_method_shows_a_map_without_error(explorer):
    for name, method in METHODS.items():
        explorer.method.value = name
        assert not explorer.status.is_error, (name, explorer.status.text)
        expected = (3, 64, 64) if method.kind == "rgb" else (64, 64)
        assert tuple(explorer.current.shape) == expected, name
        visible = {n for n, c in explorer.options.items() if c.layout.display != "none"}
        assert visible == set(method.uses), name


def test_overlay_at_full_opacity_is_the_heat_map_of_saliency(explorer, shapes):
    explorer.opacity.value = 1.0
    image = explorer.picker.image
    with torch.no_grad():
        predicted = int(shapes.net(image[None])[0, :6].argmax())
    assert explorer.status.text == f"saliency · target {shapes.class_names[predicted]} (predicted)"
    expected = heat(saliency(shapes, image[None], predicted)[0].numpy())
    shown = decode(explorer.overlay_view.value)
    scale = shown.shape[0] // 64
    assert np.abs(shown[::scale, ::scale] - expected).max() <= 1 / 255 + 1e-6


def test_target_and_options_change_the_map_and_results_are_cached(explorer):
    first = explorer.current
    explorer.target.value = 9  # colour:yellow, whatever the image shows
    assert "target color:yellow" in explorer.status.text
    assert not torch.equal(explorer.current, first)
    explorer.method.value = "occlusion"
    coarse = explorer.current
    explorer.options["window"].value = 16
    assert not torch.equal(explorer.current, coarse)
    explorer.options["window"].value = 8
    assert explorer.current is coarse, "a revisited setting comes from the cache"


def test_grad_cam_defaults_to_the_last_layer_with_spatial_extent(shapes):
    widget = AttributionExplorer(shapes, background=False)
    assert widget.options["layer"].value == "relu4_2"
    assert "gap" not in widget.options["layer"].options
    assert widget.current.max() > widget.current.min(), "a real map, not a constant"


def test_errors_show_in_the_widget_as_one_line(zoo):
    widget = AttributionExplorer(zoo["alexnet"], method="saliency", background=False)
    widget.method.value = "CAM"  # AlexNet has no global-average-pooling head
    assert widget.status.is_error
    assert "CAM needs global average pooling" in widget.status.text
    assert "\n" not in widget.status.text


def test_a_plain_module_gets_its_own_number_of_classes():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 5),
    ).eval()
    widget = AttributionExplorer(net, method="saliency", background=False)
    assert [label for label, _ in widget.target.options[1:]] == [f"class {i}" for i in range(5)]
    widget.target.value = 4
    assert widget.status.text == "saliency · target class 4" and widget.current.shape == (224, 224)


def test_compare_shows_other_methods_side_by_side(explorer, shapes, tmp_path):
    explorer.method.value = "Grad-CAM"
    explorer.compare.value = ("saliency", "Grad-CAM", "occlusion")
    assert list(explorer.compared) == ["saliency", "occlusion"]  # the main method once
    assert len(explorer.compare_row.children) == 2
    cls = explorer.target_class()
    image = explorer.picker.image[None]
    assert torch.equal(explorer.compared["saliency"], saliency(shapes, image, cls)[0])
    expected = occlusion(shapes, image, cls, window=8, stride=4)[0]
    assert torch.allclose(explorer.compared["occlusion"], expected)
    names = [path.name for path in explorer.export(tmp_path / "a")]
    assert names[:2] == ["a-overlay_view.png", "a-map_view.png"]
    assert names[2:] == [
        "a-compare_views-saliency.png",
        "a-compare_views-occlusion.png",
        "a-map.npy",
        "a-map-saliency.npy",
        "a-map-occlusion.npy",
    ]
    assert np.array_equal(np.load(tmp_path / "a-map.npy"), explorer.current.numpy())
    explorer.compare.value = ()
    assert explorer.compared == {} and explorer.compare_row.children == ()
    names = [path.name for path in explorer.export(tmp_path / "b")]  # only what is on screen
    assert names == ["b-overlay_view.png", "b-map_view.png", "b-map.npy"]


def test_slow_maps_run_in_the_background_and_cancel_cleanly(shapes):
    widget = AttributionExplorer(shapes, method="saliency")
    widget.runner.wait(30)
    first = widget.current
    before = snapshot(shapes.net)
    widget.options["window"].value, widget.options["stride"].value = 2, 1  # 3,969 windows
    widget.method.value = "occlusion"
    widget.runner.cancel_button.click()
    widget.runner.wait(30)
    assert widget.status.text.startswith("⏹ cancelled") and widget.current is first
    assert widget.runner.bar.value < widget.runner.bar.max
    assert_unchanged(before, shapes.net)
    widget.method.value = "saliency"  # cached: shown at once
    assert widget.current is first and not widget.status.is_error


def test_a_1x1_layer_is_refused_in_one_line_and_aliases_resolve(shapes, zoo):
    message = "'gap' is not one of this widget's layers with maps larger than 1×1"
    with pytest.raises(CnnlensError, match=message):
        AttributionExplorer(shapes, layer="gap", background=False)
    with pytest.raises(CnnlensError, match="unknown method 'GradCAM'; choose one of saliency"):
        AttributionExplorer(shapes, method="GradCAM", background=False)
    widget = AttributionExplorer(zoo["alexnet"], layer="conv5", background=False)
    assert widget.options["layer"].value == "features.10"


def test_the_occlusion_stride_never_exceeds_the_window(explorer):
    explorer.method.value = "occlusion"
    explorer.options["window"].value = 2
    assert explorer.options["stride"].max == 2 and explorer.options["stride"].value <= 2
    explorer.options["stride"].value = 16  # clamped: windows cover every pixel
    assert explorer.options["stride"].value == 2 and not explorer.status.is_error
    assert (explorer.current != 0).float().mean() > 0.5


def test_status_says_which_activations_guided_backprop_left_as_they_are():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.Hardswish(), torch.nn.Conv2d(4, 4, 3),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3),
    )  # fmt: skip
    model = cnnlens.load(net, input_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said in the status line, not as a warning
        explorer = AttributionExplorer(model, method="guided backprop", background=False)
        explorer.compare.value = ("guided Grad-CAM", "saliency")
    assert not explorer.status.is_error, explorer.status.text
    assert explorer.status.text.endswith(
        " · guided: 1 activations are not ReLUs (Hardswish ×1) and have no guided rule; "
        "they pass the plain gradient"
    )
