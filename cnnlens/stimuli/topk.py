"""Top-k dataset examples per unit: one streaming pass, memory O(units × k).

Each image counts once per unit, with its strongest position (the classic "top 9" grids of Zeiler &
Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901): the pass keeps, for every unit, the k best
(value, image index, y, x) seen so far and a running mean, never the activations of the whole
dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.core._cache import ResultStore
from cnnlens.core._inputs import check_unit
from cnnlens.core._legacy import legacy_calls, warn_once
from cnnlens.core.capture import _forward_pass, _images_for
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike, resolve_layer
from cnnlens.core.progress import Progress, _steps
from cnnlens.data._batches import Images, dataset_key, image_batches, image_count
from cnnlens.data.shapeworld import ShapeWorld
from cnnlens.errors import CnnlensError

PROBE_SEED = 1  # the held-out shape world: images the embedded model never trained on
PROBE_IMAGES = 2000


@dataclass(frozen=True)
class TopExamples:
    """For every unit of `layer`: its k strongest images, best first.

    Attributes:
        layer: The layer's name.
        values: (units, k) float tensor: each top image's value at its strongest position.
        indices: (units, k) int64 tensor: dataset indices of the top images.
        positions: (units, k, 2) int64 tensor: (y, x) of each image's strongest position; -1 for a
            layer without a spatial map.
        mean: (units,) float tensor: each unit's mean over all images and positions.
        maximum: (units,) float tensor: each unit's dataset maximum.
        scanned: Number of images scanned.
        source: Which dataset was scanned (its description, checked when crops are cut).
    """

    layer: str
    values: torch.Tensor
    indices: torch.Tensor
    positions: torch.Tensor
    mean: torch.Tensor
    maximum: torch.Tensor
    scanned: int
    source: str

    @property
    def images(self) -> int:
        """0.x name of `scanned`."""
        warn_once("TopExamples.images", "name", "TopExamples.images is now TopExamples.scanned")
        return self.scanned

    @property
    def units(self) -> int:
        """Number of units (channels) of the layer."""
        return self.values.shape[0]

    @property
    def k(self) -> int:
        """Examples kept per unit."""
        return self.values.shape[1]

    def of(self, unit: int) -> list[tuple[int, float, int, int]]:
        """One unit's top examples, best first: (image index, value, y, x) tuples."""
        u = check_unit(unit, self.units, self.layer)
        return [
            (int(i), float(v), int(p[0]), int(p[1]))
            for i, v, p in zip(self.indices[u], self.values[u], self.positions[u], strict=True)
        ]

    def first(self, k: int) -> TopExamples:
        """The same scan cut to the best `k` per unit.

        Args:
            k: Examples to keep per unit, 1 to `self.k`.

        Returns:
            A new `TopExamples`.

        Raises:
            CnnlensError: `k` is out of range.
        """
        if not 1 <= k <= self.k:
            raise CnnlensError(f"k must be between 1 and {self.k}, got {k}")
        return TopExamples(
            self.layer,
            self.values[:, :k],
            self.indices[:, :k],
            self.positions[:, :k],
            self.mean,
            self.maximum,
            self.scanned,
            self.source,
        )


_STORE = ResultStore(TopExamples)


@legacy_calls(order=("size", "images"), renamed={"images": "count"})
def default_probe_set(*, size: int = 64, count: int = PROBE_IMAGES) -> ShapeWorld:
    """Held-out shape-world images: the default dataset for scans.

    Args:
        size: Image side in pixels.
        count: Number of images.

    Returns:
        The `ShapeWorld` dataset.
    """
    return ShapeWorld(length=count, seed=PROBE_SEED, size=size)


@legacy_calls(order=("model", "layer", "images", "k", "batch_size", "progress", "cache"))
def top_examples(
    model: ModelLike,
    layer: str,
    *,
    images: Images | None = None,
    k: int = 9,
    batch_size: int = 128,
    progress: Progress | None = None,
    cache: bool = True,
) -> TopExamples:
    """Scan `images` once and keep each unit's top k (the "top 9" of Zeiler & Fergus).

    Shape-world results are cached in memory and on disk (keyed by the model's weights and
    preprocessing, the layer, k and the dataset), so browsing units afterwards, or in a later
    session, is instant. Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV
    2014, https://arxiv.org/abs/1311.2901.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer name; a layer without spatial maps ranks images by its value.
        images: The dataset: a `ShapeWorld`, a dataset of images, or an (N, 3, H, W) float tensor in
            [0, 1]; default: 2,000 held-out shape-world images (`default_probe_set`).
        k: Images kept per unit; >= 1.
        batch_size: Images per forward pass.
        progress: Optional callback `progress(done, total)` counting images; may raise `Cancelled`.
        cache: Use and fill the shape-world cache.

    Returns:
        The `TopExamples`.

    Raises:
        CnnlensError: `k` < 1; `layer` is unknown; `images` are invalid.
        Cancelled: `progress` cancelled the scan.
    """
    path = resolve_layer(model, layer)
    if k < 1:
        raise CnnlensError(f"k must be at least 1, got {k}")
    images = default_probe_set(size=_as_handle(model).input_size) if images is None else images
    key = dataset_key(images)
    if not cache or key is None:
        return _scan(model, path, images, k, batch_size, progress, key)
    return _STORE.get(
        model,
        (path, key, k),
        lambda: _scan(model, path, images, k, batch_size, progress, key),
        persist=True,
    )


def _scan(
    model: ModelLike,
    path: str,
    images: Images,
    k: int,
    batch_size: int,
    progress: Progress | None,
    key: str | None,
) -> TopExamples:
    best: torch.Tensor | None = None  # best_index, best_pos and total are set with it
    best_index: torch.Tensor | None = None
    best_pos: torch.Tensor | None = None
    total: torch.Tensor | None = None
    count, seen, width = 0, 0, 1
    batches = image_batches(images, batch_size)
    with _forward_pass(model, [path]) as forward:
        for x, _ in _steps(batches, -(-image_count(images) // batch_size), progress):
            forward(_images_for(model, x))
            act = forward.recorded[path].float()
            n = act.shape[0]
            flat = act.reshape(n, act.shape[1], -1)
            width = act.shape[-1] if act.dim() == 4 else 1
            values, where = flat.max(dim=2)  # (n, units): each image's strongest position
            index = torch.arange(seen, seen + n, device=act.device).expand(act.shape[1], n)
            if best is None:
                best, best_index, best_pos = values.T, index, where.T
                total = flat.sum(dim=(0, 2))
            else:
                assert best_index is not None and best_pos is not None and total is not None
                best = torch.cat([best, values.T], dim=1)
                best_index = torch.cat([best_index, index], dim=1)
                best_pos = torch.cat([best_pos, where.T], dim=1)
                total += flat.sum(dim=(0, 2))
            # A stable sort keeps equal values in index order: ties go to the earlier image, so
            # the result does not depend on the batch size.
            best, order = best.sort(dim=1, descending=True, stable=True)
            best, order = best[:, :k], order[:, :k]
            best_index, best_pos = best_index.gather(1, order), best_pos.gather(1, order)
            count += n * flat.shape[2]
            seen += n
    if best is None:
        raise CnnlensError("the dataset is empty")
    assert best_index is not None and best_pos is not None and total is not None
    if best.shape[1] < k:
        raise CnnlensError(f"k={k} is more than the {best.shape[1]} images in the dataset")
    spatial = forward.recorded[path].dim() == 4
    positions = (
        torch.stack([best_pos // width, best_pos % width], dim=-1)
        if spatial
        else torch.full((*best.shape, 2), -1)
    )
    return TopExamples(
        layer=path,
        values=best.cpu(),
        indices=best_index.cpu(),
        positions=positions.cpu(),
        mean=(total / count).cpu(),
        maximum=best[:, 0].cpu(),
        scanned=seen,
        source=key or type(images).__name__,
    )
