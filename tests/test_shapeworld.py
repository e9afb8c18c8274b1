"""Tests of the shape world: determinism, formats, label balance and ground-truth masks.

Most checks are independent of how images are drawn: colour masks are checked against pixel
colours, shape geometry against textbook fill ratios, and sizes against pixel counts.
"""

from __future__ import annotations

import colorsys
import hashlib
import subprocess
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch.utils.data import DataLoader

from cnnlens.data import (
    BACKGROUND_TONES,
    COLOR_RGB,
    COLORS,
    CONCEPT_NAMES,
    CONCEPTS,
    HEAD_CLASSES,
    HEADS,
    SHAPES,
    TEXTURES,
    ShapeWorld,
)

N_IMAGES = 600  # for statistics over a dataset
N_SAMPLES = 120  # for per-object checks through `sample`
SHAPE_ROWS = slice(0, len(SHAPES))
COLOR_ROWS = slice(len(SHAPES), len(SHAPES) + len(COLORS))
TEXTURE_ROWS = slice(len(SHAPES) + len(COLORS), len(CONCEPTS))


@pytest.fixture(scope="module")
def world() -> ShapeWorld:
    return ShapeWorld(length=N_IMAGES, seed=0)


@pytest.fixture(scope="module")
def data(world: ShapeWorld) -> dict[str, np.ndarray]:
    """All images of `world` with their masks, as numpy arrays."""
    batch = world.batch(0, N_IMAGES, masks=True)
    return {
        "images": batch.images.numpy(),
        "labels": batch.labels.numpy(),
        "masks": batch.masks.numpy(),
        "object_masks": batch.object_masks.numpy(),
    }


@pytest.fixture(scope="module")
def samples(world: ShapeWorld) -> list:
    return [world.sample(i) for i in range(N_SAMPLES)]


def test_constants_and_concept_order() -> None:
    assert SHAPES == ("circle", "square", "triangle", "cross", "star", "ring")
    assert COLORS == ("red", "green", "blue", "yellow", "magenta", "cyan")
    assert TEXTURES == ("plain", "hstripes", "vstripes", "dots", "checker", "noise")
    assert tuple(COLOR_RGB) == COLORS
    assert HEADS == ("shape", "color", "texture")
    assert HEAD_CLASSES == {"shape": SHAPES, "color": COLORS, "texture": TEXTURES}
    expected = [("shape", s) for s in SHAPES] + [("color", c) for c in COLORS]
    expected += [("texture", t) for t in TEXTURES if t != "plain"]
    assert list(CONCEPTS) == expected
    assert len(CONCEPT_NAMES) == 17
    assert CONCEPT_NAMES[0] == "shape:circle"
    assert CONCEPT_NAMES[6] == "color:red"
    assert CONCEPT_NAMES[-1] == "texture:noise"


def test_object_colors_saturated_and_background_muted() -> None:
    def chroma(rgb: tuple[float, float, float]) -> float:
        return max(rgb) - min(rgb)

    assert all(colorsys.rgb_to_hsv(*rgb)[1] >= 0.8 for rgb in COLOR_RGB.values())
    assert all(chroma(rgb) >= 0.6 for rgb in COLOR_RGB.values())
    assert all(chroma(rgb) <= 0.2 for rgb in BACKGROUND_TONES)
    objects = np.array(list(COLOR_RGB.values()))
    tones = np.array(BACKGROUND_TONES)
    to_tones = np.linalg.norm(objects[:, None] - tones[None], axis=-1)
    between = np.linalg.norm(objects[:, None] - objects[None], axis=-1)
    assert to_tones.min() > 0.5
    assert between[~np.eye(len(COLORS), dtype=bool)].min() > 0.5


def test_same_seed_gives_identical_data_whatever_the_call_order() -> None:
    first = ShapeWorld(length=20, seed=7).batch(0, 20, masks=True)
    other = ShapeWorld(length=20, seed=7)
    other.batch(11, 3)  # generating other images first must not matter
    second = other.batch(5, 10, masks=True)
    assert torch.equal(first.images[5:15], second.images)
    assert torch.equal(first.masks[5:15], second.masks)
    assert torch.equal(first.object_masks[5:15], second.object_masks)
    assert torch.equal(first.labels[5:15], second.labels)
    image, labels = other[9]
    assert torch.equal(image, first.images[9]) and torch.equal(labels, first.labels[9])
    sample = other.sample(9)
    assert np.array_equal(sample.image, first.images[9].numpy())
    assert np.array_equal(sample.masks, first.masks[9].numpy())


def test_different_seeds_and_indices_differ() -> None:
    a = ShapeWorld(length=10, seed=0).batch(0, 10).images
    b = ShapeWorld(length=10, seed=1).batch(0, 10).images
    assert all(not torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(not torch.equal(a[i], a[j]) for i, j in product(range(10), repeat=2) if i < j)


@pytest.mark.slow
def test_identical_across_processes(world: ShapeWorld) -> None:
    code = (
        "import hashlib; from cnnlens.data import ShapeWorld; "
        "b = ShapeWorld(length=600, seed=0).batch(590, 10, masks=True); "
        "print(hashlib.sha256(b.images.numpy().tobytes() + b.masks.numpy().tobytes()).hexdigest())"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    batch = world.batch(590, 10, masks=True)
    here = hashlib.sha256(batch.images.numpy().tobytes() + batch.masks.numpy().tobytes())
    assert out.stdout.strip() == here.hexdigest()


def test_formats_and_value_ranges(world: ShapeWorld, data: dict, samples: list) -> None:
    batch = world.batch(3, 4, masks=True)
    assert batch.images.shape == (4, 3, 64, 64) and batch.images.dtype == torch.float32
    assert batch.labels.shape == (4, 3) and batch.labels.dtype == torch.int64
    assert batch.masks.shape == (4, 17, 64, 64) and batch.masks.dtype == torch.bool
    assert batch.object_masks.shape == (4, 64, 64) and batch.object_masks.dtype == torch.bool
    plain = world.batch(3, 4)
    assert plain.masks is None and plain.object_masks is None
    assert data["images"].min() >= 0.0 and data["images"].max() <= 1.0
    sample = samples[0]
    assert sample.image.shape == (3, 64, 64) and sample.image.dtype == np.float32
    assert sample.masks.shape == (17, 64, 64) and sample.masks.dtype == bool
    assert sample.object_mask.shape == (64, 64) and sample.object_mask.dtype == bool
    for s in samples:
        assert s.labels == {
            h: HEAD_CLASSES[h][k] for h, k in zip(HEADS, s.label_indices, strict=True)
        }


@pytest.mark.parametrize("size", [32, 96])
def test_other_sizes(size: int) -> None:
    batch = ShapeWorld(length=4, seed=0, size=size).batch(0, 4, masks=True)
    assert batch.images.shape == (4, 3, size, size)
    assert batch.masks.shape == (4, 17, size, size)
    assert batch.object_masks.sum(dim=(1, 2)).min() > 0.02 * size * size


def test_labels_in_range_and_balanced(data: dict) -> None:
    labels = data["labels"]
    for head, classes in enumerate(HEAD_CLASSES.values()):
        counts = np.bincount(labels[:, head], minlength=len(classes))
        assert len(counts) == len(classes), "label out of range"
        expected = N_IMAGES / len(classes)
        assert counts.min() > 0.6 * expected and counts.max() < 1.4 * expected


def test_color_masks_match_pixel_colors(data: dict) -> None:
    pixels = data["images"].transpose(0, 2, 3, 1)  # [n, H, W, 3]
    for k, rgb in enumerate(COLOR_RGB.values()):
        has_color = np.all(np.abs(pixels - np.array(rgb, np.float32)) < 1e-6, axis=-1)
        assert np.array_equal(data["masks"][:, COLOR_ROWS][:, k], has_color)


def test_each_object_pixel_in_one_shape_and_one_color_mask(data: dict) -> None:
    masks = data["masks"]
    per_shape = masks[:, SHAPE_ROWS].sum(axis=1)
    per_color = masks[:, COLOR_ROWS].sum(axis=1)
    assert per_shape.max() == 1
    assert np.array_equal(per_shape, per_color)
    per_texture = masks[:, TEXTURE_ROWS].sum(axis=1)
    assert per_texture.max() == 1
    assert not np.any((per_shape > 0) & (per_texture > 0)), "texture under an object"


def test_texture_masks_follow_the_label_and_show_a_pattern(data: dict) -> None:
    images, labels, masks = data["images"], data["labels"], data["masks"]
    for i in range(0, N_IMAGES, 5):
        present = masks[i, TEXTURE_ROWS].any(axis=(1, 2))
        texture = labels[i, 2]
        assert present.sum() == (texture != 0)
        if texture:
            assert present[texture - 1]
            colors = images[i][:, masks[i, TEXTURE_ROWS][texture - 1]]
            assert len(np.unique(colors, axis=1).T) >= 2, "a texture needs two tones"


def test_object_mask_lies_in_its_shape_and_color_masks(data: dict) -> None:
    for i in range(N_IMAGES):
        shape, color, _ = data["labels"][i]
        obj = data["object_masks"][i]
        assert obj.any()
        assert np.all(data["masks"][i, shape][obj])
        assert np.all(data["masks"][i, len(SHAPES) + color][obj])


def test_concept_pixel_fractions_are_small(data: dict) -> None:
    fractions = data["masks"].mean(axis=(0, 2, 3))
    for name, fraction in zip(CONCEPT_NAMES, fractions, strict=True):
        assert 0.002 <= fraction <= 0.06, f"{name} covers {fraction:.2%}"


def test_main_object_is_whole_and_inside(data: dict) -> None:
    """Guarantee: the main object is never occluded or cut, and keeps off the 1-px image border."""
    obj = data["object_masks"]
    assert not obj[:, [0, -1], :].any() and not obj[:, :, [0, -1]].any()
    for mask in obj[:100]:
        _, n_parts = ndimage.label(mask, structure=np.ones((3, 3)))
        assert n_parts == 1


def test_main_object_is_largest_and_last(samples: list) -> None:
    n_objects = []
    for s in samples:
        main = len(s.objects) - 1
        visible = np.bincount(s.instance_map[s.instance_map >= 0], minlength=len(s.objects))
        assert np.array_equal(s.object_mask, s.instance_map == main)
        assert visible[main] > visible[:main].max(initial=0)
        assert (s.objects[main].shape, s.objects[main].color) == s.label_indices[:2]
        n_objects.append(len(s.objects))
    assert set(n_objects) == {1, 2, 3}


# Area of each shape over the area of its circumscribed circle (pure geometry).
FILL_RATIOS = {
    "circle": 1.0,
    "square": 2 / np.pi,
    "triangle": 3 * np.sqrt(3) / (4 * np.pi),
    "ring": 1 - 0.55**2,
    "cross": None,  # depends on the bar width: checked only for centring
    "star": None,  # depends on the inner radius: checked only for centring
}


def test_main_object_geometry(samples: list) -> None:
    for s in samples:
        obj = s.objects[-1]
        rows, cols = np.nonzero(s.object_mask)
        assert abs(rows.mean() + 0.5 - obj.center[0]) < 1.0  # all shapes are centred
        assert abs(cols.mean() + 0.5 - obj.center[1]) < 1.0
        ratio = FILL_RATIOS[SHAPES[obj.shape]]
        if ratio is not None:
            area = len(rows) / (np.pi * obj.radius**2)
            assert area == pytest.approx(ratio, rel=0.12)


def test_dataloader(world: ShapeWorld) -> None:
    images, labels = next(iter(DataLoader(world, batch_size=8)))
    expected = world.batch(0, 8)
    assert torch.equal(images, expected.images) and torch.equal(labels, expected.labels)


def test_bad_indices_and_arguments(world: ShapeWorld) -> None:
    with pytest.raises(IndexError, match="index -1 out of range"):
        world[-1]
    with pytest.raises(IndexError, match=f"index {N_IMAGES} out of range"):
        world.sample(N_IMAGES)
    with pytest.raises(IndexError, match="out of range"):
        world.batch(N_IMAGES - 2, 5)
    with pytest.raises(ValueError, match="batch size must be at least 1"):
        world.batch(0, 0)
    with pytest.raises(ValueError, match="size must be at least 32"):
        ShapeWorld(size=31)
    with pytest.raises(ValueError, match="length must be at least 1"):
        ShapeWorld(length=0)
    with pytest.raises(ValueError, match="seed must be non-negative"):
        ShapeWorld(seed=-1)
