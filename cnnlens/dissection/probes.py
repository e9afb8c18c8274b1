"""Probe sets: images with dense concept masks to dissect against (the shape world by default).

A probe set names its concepts and their categories and yields batches of [0, 1] RGB images with
the masks of the concepts present (bool (N, C, h, w) plus their concept indices) and which
categories each image is annotated for. Reading is deterministic, so dissection can pass twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from types import MappingProxyType

import torch

from cnnlens.core._legacy import legacy_calls, legacy_fields
from cnnlens.data import CONCEPT_NAMES, CONCEPTS, HEADS, SHAPES, Batch, ShapeWorld
from cnnlens.data._batches import prefetched
from cnnlens.errors import CnnlensError


@legacy_fields(("start", "images", "masks", "concepts", "annotated"))
@dataclass(frozen=True)
class ProbeBatch:
    """Images [start, start + N) of a probe set, with their concept masks when asked for.

    Attributes:
        start: Index of the first image in the probe set.
        images: (N, 3, H, W) float tensor in [0, 1].
        masks: (N, C, h, w) bool tensor of the concepts present, or None.
        concepts: (C,) int64 tensor: the concept index of each mask channel, or None.
        annotated: (N, categories) bool tensor: which categories each image is annotated for, or
            None.
    """

    start: int
    images: torch.Tensor  # float (N, 3, H, W) in [0, 1]
    _: KW_ONLY
    masks: torch.Tensor | None = None  # bool (N, C, h, w)
    concepts: torch.Tensor | None = None  # int64 (C,): the concept index of each mask channel
    annotated: torch.Tensor | None = None  # bool (N, len(categories))


class ProbeSet:
    """Base of probe sets: concept metadata and batching; subclasses implement `batch` and `len`.

    Attributes:
        name: A readable name.
        concepts: Concept names, e.g. "shape:circle".
        concept_categories: The category of each concept.
        separate: Concepts scored but never counted as detectors, with the reason (shown in
            reports).
    """

    name: str = "probe set"
    concepts: tuple[str, ...] = ()
    concept_categories: tuple[str, ...] = ()  # the category of each concept
    # Concepts scored but never counted as detectors, with the reason (shown in reports).
    separate: Mapping[str, str] = MappingProxyType({})

    @property
    def categories(self) -> tuple[str, ...]:
        """Distinct categories in order of first appearance."""
        return tuple(dict.fromkeys(self.concept_categories))

    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, start: int, n: int, masks: bool) -> ProbeBatch:
        """Images [start, start + n), with concept masks and annotation flags if `masks`.

        Args:
            start: Index of the first image.
            n: Number of images.
            masks: Also give the concept masks and annotation flags.

        Returns:
            The `ProbeBatch`.
        """
        raise NotImplementedError

    def batches(self, batch_size: int, masks: bool) -> Iterator[ProbeBatch]:
        """The whole set in order, `batch_size` images at a time.

        Args:
            batch_size: Images per batch; >= 1.
            masks: Also give the concept masks and annotation flags.

        Yields:
            `ProbeBatch`es.

        Raises:
            CnnlensError: `batch_size` < 1.
        """
        if batch_size < 1:
            raise CnnlensError(f"batch_size must be at least 1, got {batch_size}")
        for start in range(0, len(self), batch_size):
            yield self.batch(start, min(batch_size, len(self) - start), masks)

    def images(self, indices: Sequence[int]) -> torch.Tensor:
        """The images at `indices`: (len(indices), 3, H, W) float tensor in [0, 1]."""
        return torch.cat([self.batch(int(i), 1, masks=False).images for i in indices])


class ShapeWorldProbe(ProbeSet):
    """The shape world: 6 shapes, 6 colours, 5 textures as masks (the default probe set).

    "texture:plain" is scored separately: a plain background has no patch, so its mask is the whole
    background of one image in six — about 14% of all pixels, which caps its IoU with a 0.5% unit
    mask near 0.035, below detection by construction.

    Args:
        length: Number of images.
        seed: Seed of the shape world.
        size: Side of the images in pixels.
    """

    @legacy_calls(order=("self", "length", "seed", "size"))
    def __init__(self, *, length: int = 2000, seed: int = 1, size: int = 64) -> None:
        self.world = ShapeWorld(length=length, seed=seed, size=size)
        self.name = f"shape world (seed {seed}, {length} images)"
        self.concepts = (*CONCEPT_NAMES, "texture:plain")
        self.concept_categories = (*(family for family, _ in CONCEPTS), "texture")
        self.separate = {"texture:plain": "the plain background covers ~14% of all pixels"}

    def __len__(self) -> int:
        return len(self.world)

    def batch(self, start: int, n: int, masks: bool) -> ProbeBatch:
        """Images with the masks of every concept, "texture:plain" last."""
        return self._probe_batch(start, self.world.batch(start, n, masks=masks), masks)

    def batches(self, batch_size: int, masks: bool) -> Iterator[ProbeBatch]:
        """The whole set in order, each batch drawn in the background while the last is scored."""
        if batch_size < 1:
            raise CnnlensError(f"batch_size must be at least 1, got {batch_size}")
        for i, drawn in enumerate(prefetched(self.world, batch_size, masks=masks)):
            yield self._probe_batch(i * batch_size, drawn, masks)

    def _probe_batch(self, start: int, drawn: Batch, masks: bool) -> ProbeBatch:
        if not masks:
            return ProbeBatch(start, drawn.images)
        assert drawn.masks is not None  # drawn with masks
        plain_image = drawn.labels[:, HEADS.index("texture")] == 0
        objects = drawn.masks[:, : len(SHAPES)].any(dim=1)
        plain = plain_image[:, None, None] & ~objects
        return ProbeBatch(
            start,
            drawn.images,
            masks=torch.cat([drawn.masks, plain[:, None]], dim=1),
            concepts=torch.arange(len(self.concepts)),
            annotated=torch.ones(len(drawn.images), len(self.categories), dtype=torch.bool),
        )
