"""Gradients averaged over many inputs: SmoothGrad (noisy copies) and integrated gradients (a
path from a baseline). Copies are processed `batch_size` at a time, so memory stays bounded."""

from __future__ import annotations

from collections.abc import Callable

import torch

from cnnlens.attribution.engine import input_gradient
from cnnlens.core.capture import images_for
from cnnlens.core.inputs import batch_like
from cnnlens.core.layers import ModelLike
from cnnlens.core.legacy import legacy_calls
from cnnlens.core.progress import Progress, report
from cnnlens.core.targets import Classes, Target, as_target, for_image
from cnnlens.errors import CnnlensError


def _summed_gradients(
    model: ModelLike,
    inputs: torch.Tensor,
    target: Target,
    batch_size: int,
    tick: Callable[[int], None],
) -> torch.Tensor:
    """Sum over a stack of inputs of d target / d input, `batch_size` inputs per pass; `tick`
    hears how many inputs each pass finished."""
    total = torch.zeros_like(inputs[0])
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        total += input_gradient(model, chunk, target).sum(dim=0)
        tick(len(chunk))
    return total


def _counter(progress: Progress | None, total: int) -> Callable[[int], None]:
    """A `tick(n)` that adds n finished inputs and reports the running count to `progress`."""
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        report(progress, done[0], total)

    return tick


def _baseline(baselines: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The path's start for each image of x (N, 3, H, W): a number (or 0-d tensor) fills every
    pixel; an image or a batch of 1 or N is checked against x (`batch_like`)."""
    if isinstance(baselines, torch.Tensor) and baselines.dim() > 0:
        return batch_like(baselines, x, "baseline")
    try:
        value = float(baselines)
    except (TypeError, ValueError):
        raise CnnlensError(
            "baselines must be a value in [0, 1] or an image tensor (3, H, W) / (N, 3, H, W), "
            f"got {type(baselines).__name__}"
        ) from None
    return torch.full_like(x, value)


@legacy_calls(
    order=("model", "images", "target", "noise", "samples", "batch_size", "seed", "progress")
)
def smoothgrad(
    model: ModelLike,
    images: torch.Tensor,
    target: Target | Classes,
    *,
    noise: float = 0.15,
    samples: int = 25,
    batch_size: int = 32,
    seed: int = 0,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Smilkov et al.: the input gradient averaged over `samples` noisy copies of each image.

    The noise is Gaussian with std = `noise` x the image's value range; seeded, so repeatable.
    Returns (N, 3, H, W); take `.abs().amax(dim=1)` for a SmoothGrad saliency map.
    `progress(done, total)` counts noisy copies and may raise `Cancelled`.
    """
    if samples < 1 or noise < 0:
        raise CnnlensError(f"SmoothGrad needs samples >= 1 and noise >= 0, got {samples}, {noise}")
    x = images_for(model, images)
    target = as_target(target)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    result = torch.empty_like(x)
    tick = _counter(progress, samples * len(x))
    for n, image in enumerate(x):
        sigma = noise * (image.max() - image.min())
        noisy = image + sigma * torch.randn(
            samples, *image.shape, generator=generator, device=x.device
        )
        result[n] = _summed_gradients(model, noisy, for_image(target, n, len(x)), batch_size, tick)
    return result / samples


@legacy_calls(
    order=("model", "images", "target", "baseline", "steps", "batch_size", "progress"),
    renamed={"baseline": "baselines"},
)
def integrated_gradients(
    model: ModelLike,
    images: torch.Tensor,
    target: Target | Classes,
    *,
    baselines: float | torch.Tensor = 0.0,
    steps: int = 32,
    batch_size: int = 32,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Sundararajan et al.: (x - x') times the mean gradient along the straight path x' -> x.

    Midpoint rule with `steps` points. Its sum approximates score(x) - score(x') (completeness).
    `baselines` is a value in [0, 1] image space (0 = black) or a baseline image batch.
    `progress(done, total)` counts path points and may raise `Cancelled`.
    """
    if steps < 1:
        raise CnnlensError(f"integrated gradients needs steps >= 1, got {steps}")
    x = images_for(model, images)
    target = as_target(target)
    start = _baseline(baselines, x)
    alphas = ((torch.arange(steps, device=x.device) + 0.5) / steps).view(-1, 1, 1, 1)
    result = torch.empty_like(x)
    tick = _counter(progress, steps * len(x))
    for n in range(len(x)):
        path = start[n] + alphas * (x[n] - start[n])
        result[n] = _summed_gradients(model, path, for_image(target, n, len(x)), batch_size, tick)
    return (x - start) * result / steps
