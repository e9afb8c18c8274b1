"""Lecture 1 widgets driven headlessly: set control values, read what they show."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlens.data import ShapeWorld
from cnnlens.errors import CnnlensError
from cnnlens.plot import colorize
from cnnlens.widgets import FeatureExplorer, FilterEvolution
from cnnlens.widgets.backprop import BackpropExplorer
from cnnlens.widgets.featurevis import FeatureVisualizer
from cnnlens.widgets.inversion import InversionExplorer
from cnnlens.widgets.stimuli import StimuliExplorer


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


@pytest.fixture
def explorer(shapes):
    return FeatureExplorer(shapes, layer="relu3", unit=0)


def test_explorer_shows_the_chosen_units_map(explorer, shapes):
    explorer.unit.value = 7
    shown = decode(explorer.unit_view.value)
    net = shapes.net
    with torch.no_grad():  # independent forward: the Sequential up to relu3
        expected = net[: list(net._modules).index("relu3") + 1](explorer.picker.image[None])[0, 7]
    scale = shown.shape[0] // expected.shape[0]
    assert shown.shape[:2] == (expected.shape[0] * scale, expected.shape[1] * scale)
    assert np.abs(shown[::scale, ::scale] - colorize(expected.numpy())).max() <= 1 / 255 + 1e-6
    assert explorer.status.text.startswith("relu3 · unit 7 of 96 · 16×16 map · max ")
    assert f"max {expected.max():.2f}" in explorer.status.text


def test_changing_layer_clamps_the_unit_slider_and_updates_the_filter(explorer):
    explorer.unit.value = 100
    explorer.layer.value = "conv1"
    assert explorer.unit.max == 23 and explorer.unit.value == 23
    assert "filter of conv1, unit 23" in explorer.filter_title.value
    rgb = decode(explorer.filter_view.value)
    assert rgb.shape[0] >= 5 and not explorer.status.is_error
    explorer.layer.value = "pool2"
    assert explorer.unit.max == 47
    assert "filter of conv2" in explorer.filter_title.value
    assert "64 input-channel slices" not in explorer.filter_title.value  # conv2 reads 24 channels
    assert "24 input-channel slices" in explorer.filter_title.value


def test_revisiting_a_setting_is_served_from_the_cache(explorer):
    first = explorer.current
    explorer.layer.value = "conv2"
    explorer.layer.value = "relu3"
    assert explorer.current is first


def test_image_choices_change_the_maps(explorer):
    before = explorer.maps_view.value
    explorer.picker.choice.value = explorer.picker.choice.options[3]
    assert explorer.maps_view.value != before


def test_bad_image_file_shows_one_line_in_the_widget(explorer, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    explorer.picker.path.value = str(bad)  # must not raise
    assert explorer.status.is_error
    assert "not an image file" in explorer.status.text and "\n" not in explorer.status.text
    explorer.picker.path.value = str(tmp_path / "missing.png")
    assert "no image file at" in explorer.status.text


def test_user_images_of_any_mode_are_accepted(explorer, tmp_path):
    rgba = tmp_path / "logo.png"
    Image.fromarray(np.full((40, 90, 4), 200, np.uint8)).save(rgba)
    explorer.picker.path.value = str(rgba)
    assert explorer.picker.choice.value == "file: logo.png"
    assert explorer.picker.image.shape == (3, 64, 64)
    assert not explorer.status.is_error
    explorer.picker.add("my tensor", torch.zeros(3, 64, 64))
    assert explorer.current.maps.shape == (96, 16, 16)


def test_filter_evolution_steps_through_checkpoints():
    evolution = FilterEvolution()
    views = {}
    for name in evolution.names:
        evolution.checkpoint.value = name
        views[name] = evolution.view.value
        assert name in evolution.status.text
    assert evolution.names[0] == "epoch0" and evolution.names[-1] == "final"
    assert len(set(views.values())) == len(views), "every checkpoint shows different filters"


UNIT_WIDGETS = {
    "FeatureExplorer": lambda m, unit: FeatureExplorer(m, layer="relu1", unit=unit),
    "FeatureVisualizer": lambda m, unit: FeatureVisualizer(
        m, layer="relu1", unit=unit, background=False
    ),
    "BackpropExplorer": lambda m, unit: BackpropExplorer(
        m, layer="relu1", unit=unit, images=ShapeWorld(length=9, seed=3), background=False
    ),
}


@pytest.mark.parametrize("name", UNIT_WIDGETS)
def test_a_unit_past_the_layers_end_is_said_in_the_status_line(shapes, name):
    widget = UNIT_WIDGETS[name](shapes, 40)  # relu1 has 24 units
    assert widget.status.is_error
    assert widget.status.text == "⚠ unit 40 out of range: 'relu1' has units 0..23; showing unit 23"
    unit = widget.unit if hasattr(widget, "unit") else widget.controls["unit"]
    assert unit.value == 23
    fine = UNIT_WIDGETS[name](shapes, torch.tensor(5))  # a 0-d tensor is an integer
    assert not fine.status.is_error
    assert (fine.unit if hasattr(fine, "unit") else fine.controls["unit"]).value == 5


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda m: FeatureExplorer(m, layer="fc"), r"layer 'fc' is not one of this widget's"),
        (lambda m: StimuliExplorer(m, layer=3), "layer names are strings like 'conv1', got int"),
        (lambda m: InversionExplorer(m, layer="relu9"), "unknown layer 'relu9'"),
    ],
)
def test_a_layer_the_widget_cannot_show_gets_one_line(shapes, make, message):
    with pytest.raises(CnnlensError, match=message) as err:
        make(shapes)
    assert "\n" not in str(err.value)


def test_a_layer_alias_selects_its_path(zoo):
    assert FeatureExplorer(zoo["vgg16"], layer="conv2").layer.value == "features.2"
