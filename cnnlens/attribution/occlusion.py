"""Occlusion (Zeiler & Fergus): how much the target's score drops when a window is greyed out.

Many windows share one forward pass (`batch_size` occluded copies at a time), so an occlusion map
costs about positions / batch_size forwards instead of one forward per window.
"""

from __future__ import annotations

import torch

from cnnlens.attribution.engine import _target_scores
from cnnlens.core._layout import input_layout
from cnnlens.core._legacy import legacy_calls
from cnnlens.core._windows import window_starts
from cnnlens.core.capture import _images_for, _normalize_for
from cnnlens.core.guard import preserved
from cnnlens.core.layers import ModelLike, as_net
from cnnlens.core.progress import Progress, _report
from cnnlens.core.targets import TargetLike, _as_target, _for_image


@legacy_calls(
    order=("model", "images", "target", "window", "stride", "fill", "batch_size", "progress"),
    renamed={"fill": "baselines"},
)
def occlusion(
    model: ModelLike,
    images: torch.Tensor,
    target: TargetLike,
    *,
    window: int = 8,
    stride: int = 4,
    baselines: float = 0.5,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Score drop per pixel when a window over it is greyed out, averaged over its windows.

    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014,
    https://arxiv.org/abs/1311.2901.

    The windows cover every pixel (`window_starts`). Positive = the pixel supports the target.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to explain: a `Target`, a class index, or one class index per image.
        window: Side of the square window, in pixels.
        stride: Step between window positions, in pixels.
        baselines: The fill of the window in [0, 1] image space, across all colour channels (0.5 =
            mid-gray).
        batch_size: Occluded copies per forward pass (bounds memory).
        progress: Optional callback `progress(done, total)` that hears of every batch of windows;
            may raise `Cancelled`.

    Returns:
        (N, H, W) float tensor in score units, signed.

    Raises:
        CnnlensError: The target is out of range or names an unknown layer; `images` is not a finite
            float (N, 3, H, W) or (3, H, W) tensor.
        Cancelled: `progress` cancelled the computation.
    """
    net = as_net(model)
    target = _as_target(target)
    x = _images_for(model, images)
    count, _, height, width = x.shape
    positions = [
        (top, left)
        for top in window_starts(height, window, stride)
        for left in window_starts(width, window, stride)
    ]
    totals = torch.zeros(count, height, width, device=x.device)
    covered = torch.zeros(height, width, device=x.device)
    for top, left in positions:
        covered[top : top + window, left : left + window] += 1
    layout = input_layout(net, _normalize_for(model, x[:1]))
    with preserved(net) as guard, torch.no_grad():
        base, _ = _target_scores(model, guard, x, target)
        chunks = -(-len(positions) // batch_size)
        for n in range(count):
            per_image = _for_image(target, n, count)
            for start in range(0, len(positions), batch_size):
                chunk = positions[start : start + batch_size]
                occluded = x[n].expand(len(chunk), -1, -1, -1).clone(memory_format=layout)
                for i, (top, left) in enumerate(chunk):
                    occluded[i, :, top : top + window, left : left + window] = baselines
                scores, _ = _target_scores(model, guard, occluded, per_image)
                for drop, (top, left) in zip(base[n] - scores, chunk, strict=True):
                    totals[n, top : top + window, left : left + window] += drop
                _report(progress, n * chunks + start // batch_size + 1, count * chunks)
    return totals / covered.clamp(min=1)
