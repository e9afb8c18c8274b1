"""Walk any image collection in batches: the shape world (fast path), a torch Dataset, a tensor.

Dataset-wide methods (top-k scans, feature spaces) accept all three and need the same few things:
batches of [0, 1] images with their labels, images by index, a length, and a stable cache key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from typing import cast

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from cnnlens.data.shapeworld import Batch, ShapeWorld
from cnnlens.errors import CnnlensError

Images = ShapeWorld | Dataset | torch.Tensor


def prefetched(
    world: ShapeWorld, batch_size: int, masks: bool = False, count: int | None = None
) -> Iterator[Batch]:
    """The first `count` images of `world` in consecutive batches, generated in a background thread.

    Each batch is generated while the caller works on the previous one (numpy and torch release the
    GIL).
    """
    count = len(world) if count is None else count
    starts = range(0, count, batch_size)
    with ThreadPoolExecutor(max_workers=1) as pool:

        def submit(start: int) -> Future[Batch]:
            return pool.submit(world.batch, start, min(batch_size, count - start), masks)

        upcoming = submit(0)
        for i in range(len(starts)):
            batch = upcoming.result()
            if i + 1 < len(starts):
                upcoming = submit(starts[i + 1])
            yield batch


def image_batches(
    images: Images, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """(images, labels or None) batches, in index order."""
    if isinstance(images, ShapeWorld):
        for batch in prefetched(images, batch_size):
            yield batch.images, batch.labels
    elif isinstance(images, torch.Tensor):
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size], None
    elif isinstance(images, Dataset):
        for item in DataLoader(images, batch_size=batch_size, shuffle=False):
            if isinstance(item, (list, tuple)):
                yield item[0], (item[1] if len(item) > 1 else None)
            else:
                yield item, None
    else:
        raise CnnlensError(
            "expected a ShapeWorld, a torch Dataset or an image tensor, "
            f"got {type(images).__name__}"
        )


def images_at(images: Images, indices: list[int]) -> torch.Tensor:
    """The images at `indices`, stacked."""
    if isinstance(images, torch.Tensor):
        return images[torch.as_tensor(indices, dtype=torch.long)]
    items = [images[i] for i in indices]
    return torch.stack([item[0] if isinstance(item, (list, tuple)) else item for item in items])


def image_count(images: Images) -> int:
    """How many images there are (a Dataset given as images must define `__len__`)."""
    return len(cast(Sized, images))


def first_images(images: Images, count: int) -> Images:
    """The first `count` images as the same kind of collection.

    A ShapeWorld stays a ShapeWorld (its fast path and cache key remain), a tensor is sliced, a
    Dataset becomes a Subset.
    """
    if isinstance(images, ShapeWorld):
        return ShapeWorld(length=min(count, len(images)), seed=images.seed, size=images.size)
    if isinstance(images, torch.Tensor):
        return images[:count]
    return Subset(images, range(min(count, image_count(images))))


def dataset_key(images: Images) -> str | None:
    """A description that identifies the images across sessions (for a disk cache), if any."""
    return repr(images) if isinstance(images, ShapeWorld) else None
