"""Lecture 2 and 7 widgets, driven through their controls and checked against the methods."""

import csv
import io
import time

import pytest
import torch
from PIL import Image

from cnnlens.core.progress import Cancelled
from cnnlens.data import ShapeWorld
from cnnlens.embedding import dataset_features, tsne
from cnnlens.errors import CnnlensError
from cnnlens.stimuli import top_examples
from cnnlens.stimuli.crops import unit_crops
from cnnlens.widgets._views import is_placeholder
from cnnlens.widgets.backprop import BackpropExplorer
from cnnlens.widgets.embedding import EmbeddingExplorer, NeighboursExplorer
from cnnlens.widgets.stimuli import StimuliExplorer


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(length=120, seed=31)


def test_stimuli_explorer_scans_then_browses_units(shapes, world):
    explorer = StimuliExplorer(shapes, images=world, layer="relu3", background=False)
    assert "press Scan" in explorer.status.text and explorer.current is None
    explorer.runner.run_button.click()
    expected = unit_crops(shapes, top_examples(shapes, "relu3", images=world, k=9), 0, images=world)
    assert torch.equal(explorer.current, expected)
    explorer.unit.value = 7
    explorer.k.value = 4
    expected = unit_crops(shapes, top_examples(shapes, "relu3", images=world, k=4), 7, images=world)
    assert torch.equal(explorer.current, expected)
    assert explorer.crops_view.value and explorer.sources_view.value
    assert "relu3 unit 7: top 4 of 120 images" in explorer.status.text
    explorer.layer.value = "relu1"  # not scanned yet: asks for a scan, slider fits 24 units
    assert "press Scan" in explorer.status.text and explorer.unit.max == 23


def test_neighbours_explorer_shows_feature_and_pixel_neighbours(shapes, world, tmp_path):
    explorer = NeighboursExplorer(shapes, images=world)
    explorer.k.value = 3
    explorer.query.value = 5
    features = torch.nn.functional.normalize(dataset_features(shapes, world).values, dim=1)
    distances = torch.cdist(features[5:6], features)[0]
    distances[5] = float("inf")
    assert explorer.current["features"] == distances.topk(3, largest=False).indices.tolist()
    pixels = torch.nn.functional.normalize(world.batch(0, 120).images.flatten(1), dim=1)
    distances = torch.cdist(pixels[5:6], pixels)[0]
    distances[5] = float("inf")
    assert explorer.current["pixels"] == distances.topk(3, largest=False).indices.tolist()
    explorer.space.value = "pixels"
    assert list(explorer.current) == ["pixels"]
    assert explorer.views["features"].layout.display == "none"
    written = explorer.export(tmp_path / "row")  # what is shown: the pixel row only
    assert [p.name for p in written] == ["row-views-pixels.png", "row-neighbours.csv"]
    assert written[0].read_bytes() == explorer.views["pixels"].value
    with written[1].open() as file:
        rows = list(csv.DictReader(file))
    assert [int(r["index"]) for r in rows] == explorer.current["pixels"]
    assert {(r["query"], r["space"]) for r in rows} == {("5", "pixels")}


def test_embedding_explorer_runs_tsne_and_redraws(shapes, world):
    explorer = EmbeddingExplorer(shapes, images=world, background=False)
    explorer.samples.value = 100
    explorer.perplexity.value = 10
    explorer.runner.run_button.click()
    assert explorer.coords.shape == (100, 2)
    scatter_png = explorer.view.value
    assert scatter_png[:4] == b"\x89PNG"
    explorer.thumbnails.value = True
    assert explorer.view.value != scatter_png
    assert "t-SNE of 100 images" in explorer.status.text
    explorer.perplexity.value = 50  # too high for 100 images: one line in the widget
    explorer.runner.run_button.click()
    assert explorer.status.is_error and "perplexity" in explorer.status.text


def test_embedding_explorer_says_what_to_do_and_exports_its_map(shapes, world, tmp_path):
    explorer = EmbeddingExplorer(shapes, images=world, background=False)
    assert is_placeholder(explorer.view) and explorer.export(tmp_path / "map") == []
    assert Image.open(io.BytesIO(explorer.view.value)).size == (300, 96)
    explorer.samples.value, explorer.perplexity.value = 100, 10
    explorer.run()
    written = explorer.export(tmp_path / "map")
    assert [p.name for p in written] == ["map-view.png", "map-tsne.csv"]
    with written[1].open() as file:
        rows = list(csv.DictReader(file))
    coords = torch.tensor([[float(r["x"]), float(r["y"])] for r in rows])
    assert torch.allclose(coords, explorer.coords)
    assert list(rows[0]) == ["index", "x", "y", "shape", "color", "texture"]
    explorer.perplexity.value = 12  # the map no longer matches the controls
    assert explorer.runner.stale.is_stale and explorer.status.is_stale
    explorer.perplexity.value = 10
    assert not explorer.runner.stale.is_stale and "t-SNE of 100" in explorer.status.text


def test_tsne_stops_at_a_cancel_and_reports_progress(world):
    points = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    seen = []
    assert torch.equal(
        tsne(points, perplexity=10, progress=lambda d, t: seen.append((d, t))),
        tsne(points, perplexity=10),
    )
    assert seen[0] == (0, 750) and seen[-1] == (750, 750)

    def cancel_after_the_first_report(done, _total):
        if done > 0:
            raise Cancelled("cancelled")

    start = time.perf_counter()
    with pytest.raises(Cancelled):
        tsne(points, perplexity=10, progress=cancel_after_the_first_report)
    assert time.perf_counter() - start < 2


def test_a_unit_typed_past_the_end_is_said(shapes, world):
    explorer = StimuliExplorer(shapes, images=world, layer="relu3", background=False)
    explorer.unit_box.value = 999
    assert explorer.unit.value == explorer.unit.max == explorer.unit_box.value
    assert explorer.status.is_error
    assert explorer.status.text == (
        f"⚠ unit 999 out of range: 'relu3' has units 0..{explorer.unit.max}; "
        f"showing unit {explorer.unit.max}"
    )
    explorer.unit_box.value = 3
    assert explorer.unit.value == 3 and not explorer.status.is_error


def test_widgets_take_a_tensor_of_images(shapes, world):
    """A tensor has no truth value: `images or default` raised; now it is used as given."""
    images = world.batch(0, 40).images
    explorer = EmbeddingExplorer(shapes, images=images, background=False)
    assert explorer.samples.value == 40 and explorer.perplexity.value == 13
    explorer.run()
    assert not explorer.status.is_error, explorer.status.text
    expected = tsne(dataset_features(shapes, images).values, perplexity=13)
    assert torch.equal(explorer.coords, expected)
    neighbours = NeighboursExplorer(shapes, images=images)
    assert neighbours.images is images and not neighbours.status.is_error
    stimuli = StimuliExplorer(shapes, images=images, layer="relu3", background=False)
    stimuli.scan()
    assert "top 9 of 40 images" in stimuli.status.text
    assert BackpropExplorer(shapes, images=images, background=False).images is images


def test_widgets_fit_their_sliders_to_a_small_dataset(shapes):
    small = ShapeWorld(length=50, seed=3)
    explorer = EmbeddingExplorer(shapes, images=small, background=False)
    assert (explorer.samples.min, explorer.samples.value, explorer.samples.max) == (1, 50, 50)
    assert explorer.perplexity.value == 16  # (50 - 1) / 3: t-SNE's limit for 50 points
    explorer.run()
    assert explorer.coords.shape == (50, 2) and "t-SNE of 50 images" in explorer.status.text
    five = small.batch(0, 5).images
    assert NeighboursExplorer(shapes, images=five).k.max == 4
    stimuli = StimuliExplorer(shapes, images=five, layer="relu3", background=False)
    assert stimuli.k.max == 5
    stimuli.scan()
    assert "top 5 of 5 images" in stimuli.status.text


def test_widgets_say_what_is_wrong_with_too_few_or_malformed_images(shapes):
    with pytest.raises(CnnlensError, match="no images given"):
        EmbeddingExplorer(shapes, images=torch.zeros(0, 3, 64, 64))
    with pytest.raises(CnnlensError, match="at least 2 images"):
        NeighboursExplorer(shapes, images=torch.zeros(1, 3, 64, 64))
    with pytest.raises(CnnlensError, match="channels"):
        StimuliExplorer(shapes, images=torch.zeros(4, 64, 64, 3))
