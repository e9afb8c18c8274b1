"""Top-k examples per unit: one streaming pass, checked against a brute-force pass over all
activations; the disk cache; receptive-field crops and the empirical field."""

import os

import pytest
import torch
from torch.utils.data import TensorDataset

import cnnlens
from cnnlens import CnnlensError
from cnnlens.core.progress import Cancelled
from cnnlens.data import ShapeWorld
from cnnlens.stimuli import receptive_field, top_examples
from cnnlens.stimuli.crops import unit_crops
from cnnlens.stimuli.discrepancy import empirical_field
from tests.snapshot import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(length=150, seed=11)


def brute_force(model, images, layer, k):
    """Every activation at once: each image's max per unit, then the best k images."""
    acts = cnnlens.capture(model, images, layer)[layer]
    flat = acts.flatten(2)
    per_image, where = flat.max(dim=2)
    values, indices = per_image.topk(k, dim=0)
    return acts, values.T, indices.T, where.gather(0, indices).T


def test_streaming_scan_equals_brute_force(shapes, world):
    images = world.batch(0, len(world)).images
    top = top_examples(shapes, "relu3", images=world, k=5, batch_size=32)
    acts, values, indices, where = brute_force(shapes, images, "relu3", 5)
    assert torch.allclose(top.values, values, atol=1e-5)
    assert torch.equal(top.indices, indices)
    width = acts.shape[-1]
    assert torch.equal(top.positions[..., 0] * width + top.positions[..., 1], where)
    assert torch.allclose(top.mean, acts.mean(dim=(0, 2, 3)), atol=1e-5)
    assert torch.allclose(top.maximum, acts.amax(dim=(0, 2, 3)))
    assert top.scanned == len(world) and top.source == repr(world)
    index, value, y, x = top.of(2)[0]
    assert value == pytest.approx(float(acts[index, 2, y, x]))


def test_any_dataset_or_tensor_gives_the_same_scan(shapes, world):
    images = world.batch(0, 40).images
    from_tensor = top_examples(shapes, "relu2", images=images, k=3, batch_size=16)
    dataset = TensorDataset(images, torch.zeros(40))
    from_dataset = top_examples(shapes, "relu2", images=dataset, k=3, batch_size=7)
    assert torch.equal(from_tensor.indices, from_dataset.indices)
    assert torch.allclose(from_tensor.values, from_dataset.values)


def test_classifier_units_have_no_position(shapes, world):
    top = top_examples(shapes, "fc", images=ShapeWorld(length=30, seed=11), k=4)
    assert (top.positions == -1).all()
    logits = shapes.net(world.batch(0, 30).images)
    assert torch.equal(top.indices[0], logits[:, 0].topk(4).indices)


def test_results_are_cached_in_memory_and_on_disk(shapes):
    small = ShapeWorld(length=20, seed=12)
    first = top_examples(shapes, "relu2", images=small, k=2)
    assert top_examples(shapes, "relu2", images=small, k=2) is first
    files = os.listdir(os.environ["CNNLENS_CACHE"])
    assert any(f.startswith("topexamples-") for f in files)
    from cnnlens.stimuli.topk import _STORE

    _STORE.clear()
    again = top_examples(shapes, "relu2", images=small, k=2)
    assert again is not first and torch.equal(again.values, first.values)
    # Other weights never hit the entry: the key includes a digest of every parameter.
    early = cnnlens.load("shapes", checkpoint="epoch1")
    assert not torch.equal(top_examples(early, "relu2", images=small, k=2).values, first.values)


def test_progress_reports_and_cancel_leaves_the_model_unchanged(shapes, world):
    seen = []
    top_examples(
        shapes,
        "relu1",
        images=world,
        k=2,
        batch_size=50,
        progress=lambda d, t: seen.append((d, t)),
        cache=False,
    )
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]

    def cancel_midway(done, total):
        if done == 1:
            raise Cancelled("cancelled")

    before = snapshot(shapes.net)
    with pytest.raises(Cancelled):
        top_examples(
            shapes, "relu1", images=world, k=2, batch_size=50, progress=cancel_midway, cache=False
        )
    assert_unchanged(before, shapes.net)


def test_bad_requests_fail_in_one_line(shapes, world):
    with pytest.raises(CnnlensError, match="more than the 20 images"):
        top_examples(shapes, "relu1", images=world.batch(0, 20).images, k=25)
    with pytest.raises(CnnlensError, match="did you mean"):
        top_examples(shapes, "relu9", images=world)
    top = top_examples(shapes, "relu1", images=world, k=2)
    with pytest.raises(CnnlensError, match="unit 24"):
        top.of(24)
    with pytest.raises(CnnlensError, match="come from"):
        unit_crops(shapes, top, 0, images=ShapeWorld(length=150, seed=3))


def test_crops_cut_each_examples_field_at_its_strongest_position(shapes, world):
    top = top_examples(shapes, "relu3", images=world, k=4)
    crops = unit_crops(shapes, top, 5, images=world)
    field = receptive_field(shapes, "relu3")
    assert crops.shape == (4, 3, field.size, field.size)
    index, _, y, x = top.of(5)[1]
    t, l_, b, r = field.box(y, x, 64)
    top_, left, _, _ = field.box(y, x)
    image = world[index][0]
    assert torch.equal(crops[1, :, t - top_ : b - top_, l_ - left : r - left], image[:, t:b, l_:r])
    lit = unit_crops(shapes, top, 5, images=world, overlay=True)
    assert (
        lit.shape == crops.shape
        and (lit <= crops + 1e-6).all()
        and (lit >= 0.2 * crops - 1e-6).all()
    )


def test_empirical_field_lies_inside_the_theoretical_one(shapes, world):
    top = top_examples(shapes, "relu2", images=world, k=4)
    result = empirical_field(shapes, top, 7, images=world)
    field = receptive_field(shapes, "relu2")
    centre = (result.map.shape[0] - 1) // 2
    half = field.size // 2 + 4  # a 4-px patch touching the field reaches 3 px past it (+1 rounding)
    outside = result.map.clone()
    outside[centre - half : centre + half + 1, centre - half : centre + half + 1] = 0
    assert result.map.max() > 0 and outside.abs().max() == 0
    assert 0 < result.size < result.theoretical == field.size


def test_empirical_field_fills_its_patches_with_the_baselines(shapes, world):
    """The patches' fill is `baselines` (as in `occlusion`), mid-gray by default."""
    top = top_examples(shapes, "relu2", images=world, k=4)
    gray = empirical_field(shapes, top, 7, images=world)
    assert torch.equal(empirical_field(shapes, top, 7, images=world, baselines=0.5).map, gray.map)
    assert not torch.equal(
        empirical_field(shapes, top, 7, images=world, baselines=0.0).map, gray.map
    )
