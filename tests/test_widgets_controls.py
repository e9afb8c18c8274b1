"""The controls widgets share, on a hand-built network whose layers' shapes are known."""

import pytest
import torch
from torch import nn

import cnnlens
from cnnlens.errors import CnnlensError
from cnnlens.widgets._base import BaseWidget, StatusLine
from cnnlens.widgets._controls import layer_control, spatial_layers, unit_controls


@pytest.fixture
def pooled() -> cnnlens.LoadedModel:
    """8 px in: conv 4×8×8, ReLU, conv 6×4×4, global pool 6×1×1, flatten, linear."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, padding=1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2),
    )  # fmt: skip
    return cnnlens.load(net, input_size=8)


def test_spatial_layers_are_those_with_c_h_w_maps(pooled):
    assert list(spatial_layers(pooled)) == ["0", "1", "2", "3"]
    assert spatial_layers(pooled)["2"].output_shape == (6, 4, 4)
    assert list(spatial_layers(pooled, min_side=2)) == ["0", "1", "2"]  # not the 1×1 pool


def test_layer_control_starts_at_the_argument_first_or_last(pooled):
    layers = spatial_layers(pooled)
    assert layer_control(pooled, None, layers).value == "0"
    assert layer_control(pooled, None, layers, last=True).value == "3"
    assert layer_control(pooled, "conv2", layers).value == "2"  # an alias resolves
    labelled = layer_control(pooled, None, layers, labelled=True)
    assert labelled.options[2] == ("conv2 (Conv2d, 6×4×4)", "2")
    with pytest.raises(CnnlensError, match=r"'5' is not one of this widget's layers with \(C, H"):
        layer_control(pooled, "5", layers)


def test_the_unit_slider_follows_the_layer_and_says_a_unit_out_of_range(pooled):
    layers, status, redraws = spatial_layers(pooled), StatusLine(), []
    layer = layer_control(pooled, "2", layers)
    slider, box, problem = unit_controls(layer, layers, status, 9, then=lambda: redraws.append(1))
    assert (slider.value, slider.max, box.value) == (5, 5, 5)
    assert "unit 9 out of range: '2' has units 0..5; showing unit 5" in str(problem)
    layer.value = "0"  # 4 units: the slider's value no longer fits
    assert (slider.value, slider.max) == (3, 3) and redraws
    box.value = 7
    assert slider.value == 3 and "unit 7 out of range" in status.text


def test_a_widget_shows_its_rows_above_the_status_and_says_a_problem_after_drawing():
    widget = BaseWidget(size=100)
    rows = [StatusLine()]
    widget._assemble(rows, lambda: widget.status.show("drawn"), CnnlensError("a problem"))
    assert widget.px == 100 and list(widget.children) == [*rows, widget.status]
    assert widget.status.is_error and widget.status.text == "⚠ a problem"
