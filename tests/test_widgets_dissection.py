"""The dissection browser driven headlessly: units, category filter, threshold, layers, errors."""

import csv
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from cnnlens import CnnlensError
from cnnlens.dissection import ShapeWorldProbe, dissect
from cnnlens.widgets._views import is_placeholder
from cnnlens.widgets.dissection import ALL, DissectionBrowser


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


@pytest.fixture(scope="module")
def results(shapes):
    return dissect(
        shapes, ["relu4_1", "relu4_2"], probe=ShapeWorldProbe(length=200), k=4, progress=None
    )


def best_concepts(result, threshold):
    """Each unit's best scored concept, straight from the IoU matrix."""
    probe = result.probe
    rows = []
    for unit, ious in enumerate(result.iou.tolist()):
        scored = [(iou, c) for c, iou in enumerate(ious) if probe.concepts[c] not in probe.separate]
        iou, concept = max(scored)
        rows.append((unit, probe.concept_categories[concept], probe.concepts[concept], iou))
    return [row for row in rows if row[3] >= threshold]


def test_the_first_unit_shows_its_concept_iou_and_top_images(results):
    browser = DissectionBrowser(results)
    assert browser.layer.value == "relu4_1" and browser.unit.value == 0
    _, category, concept, iou = best_concepts(results["relu4_1"], 0.0)[0]
    assert f"{concept} ({category}), IoU {iou:.3f}" in browser.info.value
    strip = decode(browser.strip_view.value)
    assert strip.shape == (2 * 64 + 4, 4 * (2 * 64 + 2) + 2, 3)  # 4 images at 2×, padded
    assert not browser.status.is_error and browser.status.text.startswith("relu4_1: ")


def test_a_category_filter_steps_through_its_detectors_best_first(results):
    browser = DissectionBrowser(results)
    browser.layer.value = "relu4_2"
    browser.category.value = "color"
    expected = sorted(
        (row for row in best_concepts(results["relu4_2"], 0.04) if row[1] == "color"),
        key=lambda row: -row[3],
    )
    assert [value for _, value in browser.unit.options] == [row[0] for row in expected]
    browser.unit.value = expected[-1][0]
    assert browser.current.concept == expected[-1][2] and browser.current.detector
    browser.threshold.value = 0.1
    fewer = [row[0] for row in expected if row[3] >= 0.1]
    assert [value for _, value in browser.unit.options] == fewer


def test_no_detectors_is_a_message_not_an_error(results):
    browser = DissectionBrowser(results)
    browser.category.value = "texture"
    browser.threshold.value = 0.2
    assert browser.unit.disabled and browser.current is None
    assert browser.status.text == "no texture detectors at IoU ≥ 0.200"
    assert is_placeholder(browser.strip_view)  # a picture that says what to do, not a broken one
    assert decode(browser.strip_view.value).shape == (96, 300, 3)
    browser.category.value = ALL
    assert not browser.unit.disabled and browser.current is not None
    assert not is_placeholder(browser.strip_view)


def test_export_writes_the_pictures_and_the_unit_table(results, tmp_path):
    browser = DissectionBrowser(results)
    written = browser.export(tmp_path / "slide.png")
    names = sorted(path.name for path in written)
    assert names == ["slide-chart_view.png", "slide-strip_view.png", "slide-units.csv"]
    assert (tmp_path / "slide-strip_view.png").read_bytes() == browser.strip_view.value
    with (tmp_path / "slide-units.csv").open() as file:
        rows = list(csv.DictReader(file))
    labels = results["relu4_1"].labels(browser.threshold.value)
    assert [(int(r["unit"]), r["concept"], float(r["iou"])) for r in rows] == [
        (r.unit, r.concept, r.iou) for r in labels
    ]


def test_the_chart_follows_the_threshold_and_strips_are_cached(results):
    browser = DissectionBrowser(results)
    chart = browser.chart_view.value
    browser.threshold.value = 0.1
    assert browser.chart_view.value != chart
    browser.unit.value = 5
    strip = browser.strip_view.value
    browser.unit.value = 6
    cached = len(browser._strips)
    browser.unit.value = 5
    assert browser.strip_view.value == strip and len(browser._strips) == cached


def test_errors_show_as_one_line(results, monkeypatch):
    browser = DissectionBrowser(results)

    def unreadable(_indices):
        raise CnnlensError("probe images are gone")

    monkeypatch.setattr(results["relu4_1"].probe, "images", unreadable)
    browser.unit.value = 9
    assert browser.status.is_error and browser.status.text == "⚠ probe images are gone"


def test_a_threshold_above_the_sliders_usual_range_is_kept(results):
    strict = dataclasses.replace(results["relu4_1"], iou_threshold=0.3)
    browser = DissectionBrowser(strict)  # the slider used to clip it to 0.2 without a word
    assert browser.threshold.value == 0.3
    assert browser.status.text == strict.summary(0.3) != strict.summary(0.2)
