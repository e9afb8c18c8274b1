"""Network Dissection: which concept, if any, each unit of a layer detects.

Bau et al., Network Dissection, CVPR 2017, https://arxiv.org/abs/1704.05796. Two passes over the
probe set share every forward: the first streams each unit's activations into a quantile sketch
(threshold T_k = the top-0.5% level) and keeps its top images; the second thresholds the upsampled
maps at T_k and sums their intersections and unions with every concept's masks. Memory depends on
the batch size and the layer, never on the number of probe images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast, overload

import torch

from cnnlens.core._layout import input_layout
from cnnlens.core._legacy import legacy_calls, warn_once
from cnnlens.core.capture import _forward_pass, _images_for, _normalize_for, _relu_note
from cnnlens.core.layers import ModelLike, as_net, resolve_layers
from cnnlens.core.progress import Progress, _steps
from cnnlens.dissection._iou import IoUTally
from cnnlens.dissection._masks import active_masks
from cnnlens.dissection.probes import ProbeBatch, ProbeSet, ShapeWorldProbe
from cnnlens.dissection.quantile import TailQuantile
from cnnlens.dissection.result import Dissection
from cnnlens.errors import CnnlensError


@dataclass(frozen=True)
class _Settings:
    """The knobs of one dissection, checked once."""

    top_fraction: float
    iou_threshold: float
    k: int
    exact: int
    batch_size: int

    def check(self) -> None:
        if not 0 < self.top_fraction < 1:
            raise CnnlensError(f"top_fraction must be in (0, 1), got {self.top_fraction}")
        if self.iou_threshold < 0:
            raise CnnlensError(f"iou_threshold must be non-negative, got {self.iou_threshold}")
        if self.batch_size < 1:
            raise CnnlensError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.k < 1 or self.exact < 1:
            raise CnnlensError(f"k and exact must be at least 1, got {self.k} and {self.exact}")


class _LayerPass:
    """One layer's running state across the two passes."""

    def __init__(self, maps: torch.Tensor, probe: ProbeSet, settings: _Settings) -> None:
        units, positions = maps.shape[1], maps.shape[2] * maps.shape[3]
        self.probe, self.top = probe, settings.k
        self.sketch = TailQuantile(
            units, 1 - settings.top_fraction, total=len(probe) * positions, exact=settings.exact
        )
        self.top_values = torch.empty(units, 0)
        self.top_indices = torch.empty(units, 0, dtype=torch.int64)
        self.thresholds = torch.empty(0)
        categories = probe.categories
        codes = torch.tensor([categories.index(c) for c in probe.concept_categories])
        self.tally = IoUTally(units, codes, len(categories))
        self.top_masks: torch.Tensor | None = None

    def observe(self, maps: torch.Tensor, start: int) -> None:
        """Pass 1: feed the sketch, keep each unit's top images by peak activation."""
        self.sketch.update(maps.transpose(0, 1).flatten(1))
        peaks = maps.amax(dim=(2, 3)).T.float().cpu()
        indices = torch.arange(start, start + maps.shape[0]).expand_as(peaks)
        values = torch.cat([self.top_values, peaks], dim=1)
        indices = torch.cat([self.top_indices, indices], dim=1)
        self.top_values, order = values.topk(min(self.top, values.shape[1]), dim=1)
        self.top_indices = indices.gather(1, order)

    def fix_thresholds(self) -> None:
        """Between the passes: T_k from the sketch."""
        self.thresholds = self.sketch.value()

    def score(self, maps: torch.Tensor, batch: ProbeBatch) -> None:
        """Pass 2: threshold the upsampled maps, add their IoU terms, keep the top images' masks."""
        masks, concepts, annotated = batch.masks, batch.concepts, batch.annotated
        if masks is None or concepts is None or annotated is None:
            raise CnnlensError(f"{self.probe.name} gave a batch without the masks asked for")
        size = (masks.shape[-2], masks.shape[-1])
        active = active_masks(maps, self.thresholds, size)
        self.tally.add(active, masks, concepts, annotated)
        if self.top_masks is None:
            self.top_masks = torch.zeros(*self.top_indices.shape, *size, dtype=torch.bool)
        pair = torch.full((len(maps), len(self.thresholds)), -1, dtype=torch.int64)
        pair[active.images.cpu(), active.units.cpu()] = torch.arange(len(active.units))
        local = self.top_indices - batch.start
        units, slots = ((local >= 0) & (local < len(maps))).nonzero(as_tuple=True)
        found = pair[local[units, slots], units]
        keep = found >= 0
        self.top_masks[units[keep], slots[keep]] = active.masks[found[keep]].cpu()


def _maps(outputs: dict[str, torch.Tensor], path: str) -> torch.Tensor:
    if path not in outputs:
        raise CnnlensError(f"layer {path!r} did not run in the forward pass")
    maps = outputs[path]
    if maps.dim() != 4:
        raise CnnlensError(
            f"layer {path!r} outputs shape {tuple(maps.shape)}, not (N, C, H, W) maps to dissect"
        )
    return maps


@overload
def dissect(
    model: ModelLike,
    layers: str,
    *,
    probe: ProbeSet | None = ...,
    top_fraction: float = ...,
    iou_threshold: float = ...,
    k: int = ...,
    batch_size: int = ...,
    exact: int = ...,
    progress: Progress | None = ...,
) -> Dissection: ...


@overload
def dissect(
    model: ModelLike,
    layers: list[str] | tuple[str, ...],
    *,
    probe: ProbeSet | None = ...,
    top_fraction: float = ...,
    iou_threshold: float = ...,
    k: int = ...,
    batch_size: int = ...,
    exact: int = ...,
    progress: Progress | None = ...,
) -> dict[str, Dissection]: ...


@legacy_calls(order=("model", "layers", "probe"), renamed={"layer": "layers", "top_images": "k"})
def dissect(
    model: ModelLike,
    layers: str | Sequence[str],
    *,
    probe: ProbeSet | None = None,
    top_fraction: float = 0.005,
    iou_threshold: float = 0.04,
    k: int = 8,
    batch_size: int = 128,
    exact: int = 4096,
    progress: Progress | None = None,
) -> Dissection | dict[str, Dissection]:
    """Dissect a layer, or several in the same two passes over `probe` (the shape world by default).

    Bau et al., Network Dissection: Quantifying Interpretability of Deep Visual Representations,
    CVPR 2017, https://arxiv.org/abs/1704.05796. A unit's mask is where its bilinearly upsampled map
    exceeds its top-`top_fraction` level; it detects its best concept when their IoU over the whole
    set is ≥ `iou_threshold`.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        layers: One layer name, or a list (or tuple) of them.
        probe: The `ProbeSet` with concept masks; None for `ShapeWorldProbe()`.
        top_fraction: The share of (image, position) pairs above a unit's threshold, in (0, 1).
        iou_threshold: Least IoU for a detector; >= 0.
        k: Top images kept per unit; >= 1.
        batch_size: Probe images per forward pass; >= 1.
        exact: Size of each unit's exact top buffer in the quantile sketch (see `TailQuantile`); >=
            1.
        progress: Optional callback `progress(done, total)` counting images over both passes; may
            raise `Cancelled`.

    Returns:
        A `Dissection` for one layer name; for a list, a dict of them by layer path.

    Raises:
        CnnlensError: `top_fraction` outside (0, 1), a negative `iou_threshold`, or `k`, `exact` or
            `batch_size` < 1; the probe set is empty or gave a batch without masks; an unknown
            layer.
        Cancelled: `progress` cancelled the dissection.
    """
    settings = _Settings(top_fraction, iou_threshold, k, exact, batch_size)
    settings.check()
    net = as_net(model)
    paths = resolve_layers(net, [layers] if isinstance(layers, str) else layers)
    probe = ShapeWorldProbe() if probe is None else probe
    if len(probe) == 0:
        raise CnnlensError("the probe set is empty")
    count = -(-len(probe) // batch_size)
    passes: dict[str, _LayerPass] = {}
    with _forward_pass(model, paths) as run:
        outputs = run.recorded

        def forward(images: torch.Tensor) -> None:
            x = _images_for(model, images)
            run(x, layout=input_layout(net, _normalize_for(model, x[:1])))

        batches = probe.batches(batch_size, masks=False)
        for batch in _steps(batches, count, progress):
            forward(batch.images)
            for path in paths:
                maps = _maps(outputs, path)
                if path not in passes:
                    passes[path] = _LayerPass(maps, probe, settings)
                passes[path].observe(maps, batch.start)
        for state in passes.values():
            state.fix_thresholds()
        batches = probe.batches(batch_size, masks=True)
        for batch in _steps(batches, count, progress):
            forward(batch.images)
            for path in paths:
                passes[path].score(_maps(outputs, path), batch)
    results = {
        path: Dissection(
            layer=path,
            note=_relu_note(net, path),
            probe=probe,
            thresholds=state.thresholds,
            exact_thresholds=state.sketch.exact,
            iou=state.tally.iou(),
            top_indices=state.top_indices,
            top_values=state.top_values,
            top_masks=cast(torch.Tensor, state.top_masks),  # set by pass 2: the set is not empty
            iou_threshold=iou_threshold,
        )
        for path, state in passes.items()
    }
    return results[paths[0]] if isinstance(layers, str) else results


@legacy_calls(order=("model", "layers", "probe"), renamed={"top_images": "k"})
def dissect_layers(
    model: ModelLike, layers: Sequence[str], **options: Any
) -> dict[str, Dissection]:
    """0.x name of `dissect` with a list of layers.

    Args:
        model: The network.
        layers: Layer names.
        **options: Keyword options of `dissect`.

    Returns:
        A `Dissection` per layer path.
    """
    warn_once(
        "dissect_layers", "name", "dissect_layers(model, layers) is now dissect(model, layers)"
    )
    return dissect(model, list(layers), **options)
