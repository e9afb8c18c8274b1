"""The empirical receptive field by sliding-window discrepancy.

Zhou et al., Object Detectors Emerge in Deep Scene CNNs, ICLR 2015, https://arxiv.org/abs/1412.6856:
occlude small patches of a unit's top images, see where its value drops, re-centre each drop map on
the unit and average. It is usually far smaller than the theoretical field: a unit mostly looks at
the middle of what it could see.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.core._inputs import check_unit
from cnnlens.core._legacy import legacy_calls
from cnnlens.core._windows import window_starts
from cnnlens.core.capture import _forward_pass, _images_for
from cnnlens.core.layers import ModelLike
from cnnlens.data._batches import Images, images_at
from cnnlens.errors import CnnlensError
from cnnlens.stimuli.crops import _source_images
from cnnlens.stimuli.receptive import ReceptiveField, receptive_field
from cnnlens.stimuli.topk import TopExamples


@dataclass(frozen=True)
class EmpiricalField:
    """A unit's averaged, re-centred discrepancy map, its size next to the theoretical one.

    Attributes:
        layer: The unit's layer.
        unit: The unit (channel).
        map: (2H-1, 2W-1) float tensor, the unit's centre in the middle; each image's drop map is
            scaled to peak 1 before averaging.
        size: Side in pixels of a square of the same area as the region above half the peak.
        theoretical: Side in pixels of the theoretical receptive field.
    """

    layer: str
    unit: int
    map: torch.Tensor
    size: float
    theoretical: int


@legacy_calls(order=("model", "top", "unit", "images", "window", "stride", "batch_size"))
def empirical_field(
    model: ModelLike,
    top: TopExamples,
    unit: int,
    *,
    images: Images | None = None,
    window: int | None = None,
    stride: int | None = None,
    baselines: float = 0.5,
    batch_size: int = 256,
) -> EmpiricalField:
    """Measure a unit's empirical receptive field by greying out patches of its top images.

    Grey out `window`-pixel patches every `stride` pixels on the unit's top images, measure the drop
    of the unit at its strongest position, and average the drop maps aligned on that position. Only
    patches that touch the theoretical field are tried: elsewhere the drop is zero by construction.
    Zhou et al., ICLR 2015, https://arxiv.org/abs/1412.6856.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        top: The layer's `TopExamples` (from `top_examples`).
        unit: The unit (channel) of `top.layer`.
        images: The dataset `top` was scanned on, if not the default probe set.
        window: Side of the gray patch in pixels; None scales it with the theoretical field.
        stride: Step between patches in pixels; None scales it with the theoretical field.
        baselines: The fill of each patch in [0, 1] image space, across all colour channels (0.5 =
            mid-gray), as in `occlusion`.
        batch_size: Occluded copies per forward pass (bounds memory).

    Returns:
        The `EmpiricalField`.

    Raises:
        CnnlensError: The layer has no spatial map; `unit` is out of range; `images` is not the
            dataset `top` was scanned on.
    """
    u = check_unit(unit, top.units, top.layer)
    if top.positions[u, 0, 0] < 0:
        raise CnnlensError(f"layer {top.layer!r} has no spatial map; it has no receptive field")
    field = receptive_field(model, top.layer)
    window = window or max(4, field.size // 5)
    stride = stride or max(1, window // 2)
    examples = images_at(_source_images(model, top, images), top.indices[u].tolist())
    positions = [(int(y), int(x)) for y, x in top.positions[u].tolist()]
    drops = _drop_maps(
        model, top.layer, u, examples, positions, field, window, stride, baselines, batch_size
    )
    size = examples.shape[-1]
    canvas = torch.zeros(2 * size - 1, 2 * size - 1)
    for drop, (y, x) in zip(drops, positions, strict=True):
        drop = drop.clamp(min=0) / drop.max().clamp(min=1e-8)
        cy, cx = (min(max(round(c), 0), size - 1) for c in field.center(y, x))
        canvas[size - 1 - cy : 2 * size - 1 - cy, size - 1 - cx : 2 * size - 1 - cx] += drop
    canvas /= len(examples)
    above = (canvas >= 0.5 * canvas.max()).sum().item() if canvas.max() > 0 else 0
    return EmpiricalField(top.layer, u, canvas, above**0.5, field.size)


def _drop_maps(
    model: ModelLike,
    layer: str,
    unit: int,
    examples: torch.Tensor,
    positions: list[tuple[int, int]],
    field: ReceptiveField,
    window: int,
    stride: int,
    fill: float,
    batch_size: int,
) -> torch.Tensor:
    """The unit's drop when a `fill` patch covers each pixel, averaged over patches: (k, H, W)."""
    count, _, height, width = examples.shape
    starts = window_starts(height, window, stride)
    jobs = []  # (image, top, left) for every patch that touches the image's unit field
    for i, (y, x_) in enumerate(positions):
        t, l_, b, r = field.box(y, x_, height)
        near = [s for s in starts if s < b and s + window > t]
        jobs += [
            (i, top, left) for top in near for left in starts if left < r and left + window > l_
        ]
    x = _images_for(model, examples)
    totals = torch.zeros(count, height, width)
    covered = torch.zeros(count, height, width)
    with _forward_pass(model, [layer]) as forward:
        forward(x)
        out = forward.recorded
        base = torch.stack([out[layer][i, unit, y, x_] for i, (y, x_) in enumerate(positions)])
        for begin in range(0, len(jobs), batch_size):
            chunk = jobs[begin : begin + batch_size]
            occluded = x[[i for i, _, _ in chunk]].clone()
            for j, (_, top, left) in enumerate(chunk):
                occluded[j, :, top : top + window, left : left + window] = fill
            forward(occluded)
            where = torch.tensor([positions[i] for i, _, _ in chunk])
            values = out[layer][torch.arange(len(chunk)), unit, where[:, 0], where[:, 1]]
            drops = (base[[i for i, _, _ in chunk]] - values).cpu().tolist()
            for (i, top, left), drop in zip(chunk, drops, strict=True):
                totals[i, top : top + window, left : left + window] += drop
                covered[i, top : top + window, left : left + window] += 1
    return totals / covered.clamp(min=1)
