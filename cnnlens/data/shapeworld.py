"""The shape world: procedurally generated images with known concepts, for training and probing.

Each image (default 64×64 RGB, float32 in [0, 1], channels first) shows 1–3 flat-coloured objects
over a muted background, which holds one textured rectangle unless the texture label is "plain".
The labels are those of the *main object* (the largest one, drawn last, fully inside the image):
its shape and colour, and the texture of the background patch. Per-pixel concept masks give the
ground truth that attribution and Network Dissection are checked against.

Concept masks are kept small on purpose: a dissection unit covers ~0.5% of the pixels, so a
concept covering much more than 5% of them caps its IoU below detection. That is why the texture
is a patch of 28–42% of one image in six rather than a whole background.

Image `i` of a world depends only on (seed, i, size), through `np.random.default_rng([seed, i])`.
"""

from __future__ import annotations

import operator
from dataclasses import KW_ONLY, dataclass, replace

import numpy as np
import torch
from torch.utils.data import Dataset

from cnnlens.core._legacy import legacy_calls, legacy_fields
from cnnlens.data._draw import circumradius, footprint, texture_pattern

SHAPES = ("circle", "square", "triangle", "cross", "star", "ring")
COLORS = ("red", "green", "blue", "yellow", "magenta", "cyan")
TEXTURES = ("plain", "hstripes", "vstripes", "dots", "checker", "noise")

COLOR_RGB: dict[str, tuple[float, float, float]] = {  # saturated object colours
    "red": (0.90, 0.10, 0.10),
    "green": (0.10, 0.75, 0.15),
    "blue": (0.10, 0.25, 0.95),
    "yellow": (0.95, 0.85, 0.10),
    "magenta": (0.85, 0.10, 0.85),
    "cyan": (0.10, 0.80, 0.85),
}
# Muted background tones (low saturation), far from every object colour. A textured patch mixes
# one dark and one light tone, so its pattern is always visible.
DARK_TONES = ((0.13, 0.13, 0.14), (0.25, 0.19, 0.14), (0.17, 0.20, 0.25), (0.22, 0.24, 0.18))
LIGHT_TONES = ((0.50, 0.50, 0.50), (0.56, 0.49, 0.40), (0.46, 0.50, 0.43), (0.43, 0.46, 0.53))
BACKGROUND_TONES = DARK_TONES + LIGHT_TONES

HEADS = ("shape", "color", "texture")
HEAD_CLASSES: dict[str, tuple[str, ...]] = {"shape": SHAPES, "color": COLORS, "texture": TEXTURES}
CONCEPTS: tuple[tuple[str, str], ...] = (
    *(("shape", s) for s in SHAPES),
    *(("color", c) for c in COLORS),
    *(("texture", t) for t in TEXTURES if t != "plain"),
)
CONCEPT_NAMES: tuple[str, ...] = tuple(f"{family}:{name}" for family, name in CONCEPTS)

# Geometry at 64 px; every length scales with size / 64. An object's "side" is that of the square
# with the same area, so all shapes of one side cover the same number of pixels.
MAIN_SIDE = (16.0, 24.0)  # the main object's side is uniform in this range
OTHER_SIDE_MIN = 10.0  # smaller objects: side uniform in [OTHER_SIDE_MIN, OTHER_SIDE_RATIO * main]
# At most 0.42x the main object's area, so "the largest object" is never a close call: at 0.8
# (0.64x) a trained net's shape errors were mostly the shape of a near-equal second object.
OTHER_SIDE_RATIO = 0.65
PATCH_AREA = (0.28, 0.42)  # fraction of the image covered by the texture patch
PATCH_ASPECT = (0.6, 1.6)  # height / width of the patch, log-uniform
PLACEMENT_TRIES = 20  # tries to put a smaller object's centre outside the main one's circumcircle

_COLOR_ARRAYS = np.array([COLOR_RGB[c] for c in COLORS], np.float32)[:, :, None, None]
_TONE_ARRAYS = np.array(BACKGROUND_TONES, np.float32)[:, :, None, None]
_SHAPE_RANGE = np.arange(len(SHAPES), dtype=np.int8)[:, None, None]
_COLOR_RANGE = np.arange(len(COLORS), dtype=np.int8)[:, None, None]


@dataclass(frozen=True)
class ShapeObject:
    """One drawn object: class indices, centre, circumradius and rotation.

    Attributes:
        shape: Index into SHAPES.
        color: Index into COLORS.
        center: (row, col) in pixels; pixel (r, c) covers [r, r + 1) × [c, c + 1).
        radius: Radius of the circumscribed circle, in pixels.
        angle: Rotation in radians.
    """

    shape: int  # index into SHAPES
    color: int  # index into COLORS
    center: tuple[float, float]  # pixel (r, c) covers [r, r + 1) × [c, c + 1)
    radius: float  # of the circumscribed circle, in pixels
    angle: float  # rotation in radians


@dataclass(frozen=True)
class _Patch:
    """The textured background rectangle and its two-tone pattern."""

    texture: int
    rows: slice
    cols: slice
    tones: tuple[int, int]  # indices into BACKGROUND_TONES: pattern weight 0, pattern weight 1
    pattern: np.ndarray


@dataclass(frozen=True)
class _Scene:
    """Everything random about one image, drawn before any pixel is painted."""

    labels: tuple[int, int, int]
    background: int  # index into BACKGROUND_TONES
    patch: _Patch | None
    objects: tuple[ShapeObject, ...]  # in drawing order: the main object is the last one


@dataclass(frozen=True)
class Sample:
    """One image with its labels and ground-truth masks (all numpy, channels first).

    Attributes:
        image: (3, H, W) float32 array in [0, 1].
        labels: {"shape": ..., "color": ..., "texture": ...} names of the main object's labels.
        label_indices: Indices into SHAPES, COLORS, TEXTURES.
        masks: (len(CONCEPTS), H, W) bool array: the visible pixels of each concept.
        object_mask: (H, W) bool array: the visible pixels of the main object.
        instance_map: (H, W) int8 array: index into `objects` per pixel, -1 for background.
        objects: The objects in drawing order: the main object is the last one.
    """

    image: np.ndarray  # float32 [3, H, W] in [0, 1]
    labels: dict[str, str]  # {"shape": ..., "color": ..., "texture": ...}
    label_indices: tuple[int, int, int]  # indices into SHAPES, COLORS, TEXTURES
    masks: np.ndarray  # bool [len(CONCEPTS), H, W]: visible pixels of each concept
    object_mask: np.ndarray  # bool [H, W]: visible pixels of the main object
    instance_map: np.ndarray  # int8 [H, W]: index into `objects` per pixel, -1 for background
    objects: tuple[ShapeObject, ...]  # in drawing order: the main object is the last one


@legacy_fields(("images", "labels", "masks", "object_masks"))
@dataclass(frozen=True)
class Batch:
    """Consecutive images as tensors; masks only when asked for.

    Attributes:
        images: (n, 3, H, W) float32 tensor in [0, 1].
        labels: (n, 3) int64 tensor: shape, colour and texture indices.
        masks: (n, len(CONCEPTS), H, W) bool tensor of concept masks, or None.
        object_masks: (n, H, W) bool tensor of main-object masks, or None.
    """

    images: torch.Tensor  # float32 [n, 3, H, W]
    labels: torch.Tensor  # int64 [n, 3]: shape, colour, texture indices
    _: KW_ONLY
    masks: torch.Tensor | None = None  # bool [n, len(CONCEPTS), H, W]
    object_masks: torch.Tensor | None = None  # bool [n, H, W]


def _place(rng: np.random.Generator, radius: float, size: int) -> tuple[float, float]:
    """Random centre keeping the circumcircle (and so the shape) 1 px away from the border."""
    low, high = radius + 1.0, size - 1.0 - radius
    cy, cx = rng.uniform(low, high, size=2)
    return float(cy), float(cx)


def _random_object(
    rng: np.random.Generator, side: float, shape: int, color: int, size: int
) -> ShapeObject:
    """An object of the given classes and side at a random position and rotation."""
    radius = circumradius(SHAPES[shape], side)
    angle = float(rng.uniform(0, 2 * np.pi))
    return ShapeObject(int(shape), int(color), _place(rng, radius, size), radius, angle)


def _smaller_object(
    rng: np.random.Generator, main: ShapeObject, side: float, size: int
) -> ShapeObject:
    """A random smaller object, centred outside the main object's circumcircle when possible."""
    shape, color = int(rng.integers(len(SHAPES))), int(rng.integers(len(COLORS)))
    obj = _random_object(rng, side, shape, color, size)
    for _ in range(PLACEMENT_TRIES):
        if np.hypot(obj.center[0] - main.center[0], obj.center[1] - main.center[1]) >= main.radius:
            break
        obj = replace(obj, center=_place(rng, obj.radius, size))
    return obj


def _random_patch(rng: np.random.Generator, texture: int, size: int) -> _Patch:
    """A rectangle of 28–42% of the image with a random two-tone texture."""
    area = rng.uniform(*PATCH_AREA) * size * size
    aspect = np.exp(rng.uniform(*np.log(PATCH_ASPECT)))
    h = min(size, round(np.sqrt(area * aspect)))
    w = min(size, round(area / h))
    y0, x0 = rng.integers(size - h + 1), rng.integers(size - w + 1)
    dark = int(rng.integers(len(DARK_TONES)))
    light = len(DARK_TONES) + int(rng.integers(len(LIGHT_TONES)))
    tones = (light, dark) if rng.integers(2) else (dark, light)
    pattern = texture_pattern(TEXTURES[texture], h, w, rng, size / 64)
    return _Patch(texture, slice(y0, y0 + h), slice(x0, x0 + w), tones, pattern)


def _random_background(rng: np.random.Generator, patch: _Patch | None) -> int:
    """A background tone, different from the patch tones so the patch's outline shows."""
    used = () if patch is None else patch.tones
    choices = [k for k in range(len(BACKGROUND_TONES)) if k not in used]
    return choices[rng.integers(len(choices))]


def _random_scene(seed: int, index: int, size: int) -> _Scene:
    """Draw labels, background, texture patch and objects of image `index` from its own stream."""
    rng = np.random.default_rng([seed, index])
    shape, color, texture = (
        int(k) for k in rng.integers((len(SHAPES), len(COLORS), len(TEXTURES)))
    )
    n_objects = int(rng.integers(1, 4))
    patch = _random_patch(rng, texture, size) if texture else None
    background = _random_background(rng, patch)
    scale = size / 64
    main_side = rng.uniform(*MAIN_SIDE) * scale
    main = _random_object(rng, main_side, shape, color, size)
    others = [
        _smaller_object(
            rng, main, rng.uniform(OTHER_SIDE_MIN * scale, OTHER_SIDE_RATIO * main_side), size
        )
        for _ in range(n_objects - 1)
    ]
    return _Scene((shape, color, texture), background, patch, (*others, main))


def _paint(scene: _Scene, image: np.ndarray) -> np.ndarray:
    """Paint a scene into `image` (float32 [3, S, S]) and return its instance map (int8 [S, S])."""
    size = image.shape[-1]
    image[:] = _TONE_ARRAYS[scene.background]
    patch = scene.patch
    if patch is not None:
        low, high = _TONE_ARRAYS[patch.tones[0]], _TONE_ARRAYS[patch.tones[1]]
        image[:, patch.rows, patch.cols] = low + (high - low) * patch.pattern
    instances = np.full((size, size), -1, np.int8)
    for k, obj in enumerate(scene.objects):
        rows, cols, inside = footprint(SHAPES[obj.shape], *obj.center, obj.radius, obj.angle, size)
        instances[rows, cols][inside] = k
        np.copyto(image[:, rows, cols], _COLOR_ARRAYS[obj.color], where=inside)
    return instances


def _concept_masks(scene: _Scene, instances: np.ndarray, out: np.ndarray) -> None:
    """Fill `out` (bool [len(CONCEPTS), S, S]) with the visible pixels of every concept."""
    n_shapes, n_colors = len(SHAPES), len(COLORS)
    shape_of = np.array([o.shape for o in scene.objects] + [-1], np.int8)  # -1: background
    color_of = np.array([o.color for o in scene.objects] + [-1], np.int8)
    np.equal(shape_of[instances], _SHAPE_RANGE, out=out[:n_shapes])
    np.equal(color_of[instances], _COLOR_RANGE, out=out[n_shapes : n_shapes + n_colors])
    out[n_shapes + n_colors :] = False
    patch = scene.patch
    if patch is not None:
        row = n_shapes + n_colors + patch.texture - 1  # "plain" has no concept
        np.less(instances[patch.rows, patch.cols], 0, out=out[row, patch.rows, patch.cols])


class ShapeWorld(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """A deterministic, procedurally generated dataset of shape-world images and their labels.

    `world[i]` gives (image, labels) for a DataLoader; `world.sample(i)` adds names and ground-truth
    masks; `world.batch(start, n)` is the fast path. Image `i` depends only on (seed, i, size).

    Args:
        length: Number of images; >= 1.
        seed: Selects the world; >= 0.
        size: Side of the images in pixels; >= 32.

    Raises:
        ValueError: `length` < 1, `size` < 32 or a negative `seed`.
    """

    @legacy_calls(order=("self", "length", "seed", "size"))
    def __init__(self, *, length: int = 10_000, seed: int = 0, size: int = 64) -> None:
        if length < 1:
            raise ValueError(f"ShapeWorld length must be at least 1, got {length}")
        if size < 32:
            raise ValueError(f"ShapeWorld size must be at least 32 pixels, got {size}")
        if seed < 0:
            raise ValueError(f"ShapeWorld seed must be non-negative, got {seed}")
        self.length, self.seed, self.size = int(length), int(seed), int(size)

    def __repr__(self) -> str:
        return f"ShapeWorld(length={self.length}, seed={self.seed}, size={self.size})"

    def __len__(self) -> int:
        """Number of images."""
        return self.length

    def _check_range(self, start: int, n: int = 1) -> int:
        """Validate images [start, start + n) and return start as an int (IndexError if not)."""
        start = operator.index(start)
        if start < 0 or start + n > self.length:
            last = f"{start}..{start + n - 1}" if n > 1 else f"{start}"
            raise IndexError(f"ShapeWorld index {last} out of range [0, {self.length})")
        return start

    def _render(self, index: int, image: np.ndarray) -> tuple[_Scene, np.ndarray]:
        """Paint image `index` into `image`; return its scene and instance map."""
        scene = _random_scene(self.seed, index, self.size)
        return scene, _paint(scene, image)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Image `index` and its labels (shape, colour, texture indices), as tensors.

        Returns:
            ((3, H, W) float32 image in [0, 1], (3,) int64 labels).

        Raises:
            IndexError: `index` is out of range.
        """
        index = self._check_range(index)
        image = np.empty((3, self.size, self.size), np.float32)
        scene, _ = self._render(index, image)
        return torch.from_numpy(image), torch.tensor(scene.labels, dtype=torch.int64)

    def sample(self, index: int) -> Sample:
        """Image `index` with its labels by name and index, concept masks and object layout.

        Args:
            index: The image, 0 to len - 1.

        Returns:
            The `Sample`.

        Raises:
            IndexError: `index` is out of range.
        """
        index = self._check_range(index)
        image = np.empty((3, self.size, self.size), np.float32)
        scene, instances = self._render(index, image)
        masks = np.empty((len(CONCEPTS), self.size, self.size), bool)
        _concept_masks(scene, instances, masks)
        return Sample(
            image=image,
            labels={
                head: HEAD_CLASSES[head][k] for head, k in zip(HEADS, scene.labels, strict=True)
            },
            label_indices=scene.labels,
            masks=masks,
            object_mask=instances == len(scene.objects) - 1,
            instance_map=instances,
            objects=scene.objects,
        )

    def batch(self, start: int, n: int, masks: bool = False) -> Batch:
        """Images [start, start + n) as tensors, with concept and main-object masks if asked.

        Args:
            start: Index of the first image.
            n: Number of images; >= 1.
            masks: Also draw the concept masks and main-object masks.

        Returns:
            The `Batch`.

        Raises:
            ValueError: `n` < 1.
            IndexError: The range leaves [0, len).
        """
        if n < 1:
            raise ValueError(f"ShapeWorld batch size must be at least 1, got {n}")
        start = self._check_range(start, n)
        s = self.size
        images = np.empty((n, 3, s, s), np.float32)
        labels = np.empty((n, 3), np.int64)
        concept_masks = np.empty((n, len(CONCEPTS), s, s), bool) if masks else None
        object_masks = np.empty((n, s, s), bool) if masks else None
        for j in range(n):
            scene, instances = self._render(start + j, images[j])
            labels[j] = scene.labels
            if concept_masks is not None and object_masks is not None:
                _concept_masks(scene, instances, concept_masks[j])
                np.equal(instances, len(scene.objects) - 1, out=object_masks[j])
        return Batch(
            images=torch.from_numpy(images),
            labels=torch.from_numpy(labels),
            masks=None if concept_masks is None else torch.from_numpy(concept_masks),
            object_masks=None if object_masks is None else torch.from_numpy(object_masks),
        )
