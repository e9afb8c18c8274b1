"""Widgets never look broken or stale: placeholders before the first run, "running…" while a call
computes, a cancel as information with the partial picture marked stale, stale marks when the
controls move away from what is shown, notes on fitted images, and `export`."""

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlens.widgets.filters as filters_module
from cnnlens.widgets import FeatureExplorer, FeatureVisualizer, InversionExplorer
from cnnlens.widgets._base import STALE, StatusLine
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._views import is_placeholder


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture
def visualizer(shapes):
    widget = FeatureVisualizer(shapes, layer="relu3", unit=4, background=False, preview_every=4)
    widget.controls["steps"].value = 8
    return widget


def test_empty_views_show_a_placeholder_that_says_what_to_do(shapes, visualizer):
    inversion = InversionExplorer(shapes, background=False)
    for view in (visualizer.view, inversion.view):
        assert is_placeholder(view) and decode(view.value).shape == (96, 192, 3)
        assert STALE not in view._dom_classes
    assert not is_placeholder(inversion.original_view)


def test_the_status_says_running_while_a_call_runs():
    status, gate, seen = StatusLine(), threading.Event(), []
    status.show("the previous result")
    runner = Runner(status, "Render")

    def work(progress):
        seen.append((status.is_running, status.text))
        gate.wait(5)
        return 1

    runner.start(work, lambda _: status.show("done"), "rendering relu3")
    gate.set()
    runner.wait(5)
    assert seen == [(True, "⏳ running… rendering relu3")]
    assert status.text == "done" and not status.is_running


def test_a_synchronous_widget_says_running_while_it_computes(shapes, monkeypatch):
    explorer = FeatureExplorer(shapes, layer="relu2")
    seen, compute = [], filters_module.feature_maps

    def slow_maps(*args, **kwargs):
        seen.append(explorer.status.text)
        return compute(*args, **kwargs)

    monkeypatch.setattr(filters_module, "feature_maps", slow_maps)
    explorer.layer.value = "relu3"
    assert seen == ["⏳ running… computing the feature maps"]
    assert explorer.status.text.startswith("relu3 · unit")


def test_cancel_is_information_and_marks_the_partial_picture_stale(shapes):
    widget = FeatureVisualizer(shapes, layer="relu4_2", unit=1, preview_every=1)
    widget.controls["steps"].value = 512
    previewed = threading.Event()
    widget.view.observe(lambda _: previewed.set(), "value")
    widget.run()
    assert previewed.wait(30)
    widget.runner.cancel_button.click()
    widget.runner.wait(30)
    assert not widget.status.is_error and widget.status.text.startswith("⏹ cancelled")
    assert "stale" in widget.status.text and widget.current is None
    assert STALE in widget.view._dom_classes and widget.view.layout.border
    widget.controls["steps"].value = 8
    widget.run()
    widget.runner.wait(30)
    assert STALE not in widget.view._dom_classes and not widget.view.layout.border


def test_a_result_is_marked_stale_when_the_controls_move_away(visualizer):
    visualizer.run()
    line = visualizer.status.text
    assert not visualizer.runner.stale.is_stale
    visualizer.controls["unit"].value = 5
    assert STALE in visualizer.view._dom_classes and visualizer.status.is_stale
    assert "press Render" in visualizer.status.text
    visualizer.controls["unit"].value = 4
    assert STALE not in visualizer.view._dom_classes and visualizer.status.text == line


def test_a_control_moved_during_a_run_leaves_its_result_marked_stale(visualizer):
    moved = []

    def move_once(_change: dict) -> None:
        if not moved:  # at the first preview, as a student would while it renders
            moved.append(True)
            visualizer.controls["unit"].value = 5

    visualizer.view.observe(move_once, "value")
    visualizer.run()
    assert visualizer.current is not None and visualizer.controls["unit"].value == 5
    assert STALE in visualizer.view._dom_classes and visualizer.status.is_stale


def test_another_image_marks_the_reconstruction_stale(shapes):
    inversion = InversionExplorer(shapes, layer="relu1", background=False)
    inversion.controls["steps"].value = 10
    inversion.run()
    assert not inversion.runner.stale.is_stale
    inversion.picker.choice.value = inversion.picker.choice.options[1]
    assert STALE in inversion.view._dom_classes and inversion.status.is_stale


def test_a_unit_typed_past_the_end_is_said(shapes, visualizer):
    visualizer.unit_box.value = 999
    last = visualizer.controls["unit"].max
    assert visualizer.controls["unit"].value == last == visualizer.unit_box.value
    assert visualizer.status.text == (
        f"⚠ unit 999 out of range: 'relu3' has units 0..{last}; showing unit {last}"
    )
    explorer = FeatureExplorer(shapes, layer="relu2")
    explorer.unit_box.value = -3
    assert explorer.unit.value == 0 and "unit -3 out of range" in explorer.status.text


def test_a_loaded_image_says_how_it_was_fitted(shapes):
    explorer = FeatureExplorer(shapes)
    explorer.picker.add("wide", torch.rand(3, 100, 200))
    assert explorer.picker.image.shape == (3, 64, 64)
    assert explorer.status.text.endswith(
        "wide: 200×100 px centre-cropped to a square and resized to 64×64 px "
        "(the model's input size)"
    )
    explorer.picker.add("bytes of 255", torch.rand(3, 64, 64) * 255)
    assert explorer.status.is_error and "divide 8-bit values by 255" in explorer.status.text
    assert explorer.picker.choice.value == "wide"


def test_export_writes_what_the_views_show_and_the_data(shapes, visualizer, tmp_path):
    assert visualizer.export(tmp_path / "empty") == []  # a placeholder is not exported
    visualizer.run()
    written = visualizer.export(tmp_path / "fig.png")
    assert [p.name for p in written] == ["fig-view.png", "fig-images.npy"]
    assert np.array_equal(decode(written[0].read_bytes()), decode(visualizer.view.value))
    assert np.array_equal(np.load(written[1]), visualizer.current.images.numpy())
    explorer = FeatureExplorer(shapes, layer="relu2")
    names = [p.name for p in explorer.export(tmp_path / "maps")]
    assert names == [
        "maps-input_view.png",  # in screen order
        "maps-unit_view.png",
        "maps-filter_view.png",
        "maps-maps_view.png",
        "maps-maps.npy",
    ]
    assert np.array_equal(np.load(tmp_path / "maps-maps.npy"), explorer.current.maps.numpy())
