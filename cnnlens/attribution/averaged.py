"""Gradients averaged over many inputs: SmoothGrad (noisy copies) and integrated gradients.

Integrated gradients follow a path from a baseline. Copies are processed `batch_size` at a time, so
memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from cnnlens.attribution.engine import input_gradient
from cnnlens.core._inputs import batch_like
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import _images_for
from cnnlens.core.layers import ModelLike
from cnnlens.core.progress import Progress, _report
from cnnlens.core.targets import Target, TargetLike, _as_target, _for_image
from cnnlens.errors import CnnlensError


def _summed_gradients(
    model: ModelLike,
    inputs: torch.Tensor,
    target: Target,
    batch_size: int,
    tick: Callable[[int], None],
    rule: str = "gradient",
) -> torch.Tensor:
    """Sum over a stack of inputs of d target / d input, `batch_size` inputs per pass.

    ReLUs backpropagate by `rule`; `tick` hears how many inputs each pass finished.
    """
    total = torch.zeros_like(inputs[0])
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size]
        total += input_gradient(model, chunk, target, rule=rule).sum(dim=0)
        tick(len(chunk))
    return total


def _counter(progress: Progress | None, total: int) -> Callable[[int], None]:
    """A `tick(n)` that adds n finished inputs and reports the running count to `progress`."""
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        _report(progress, done[0], total)

    return tick


def _baseline(baselines: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The path's start for each image of x (N, 3, H, W).

    A number (or 0-d tensor) fills every pixel; an image or a batch of 1 or N is checked against x
    (`batch_like`).
    """
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
    target: TargetLike,
    *,
    noise: float = 0.15,
    samples: int = 25,
    batch_size: int = 32,
    seed: int = 0,
    rule: str = "gradient",
    progress: Progress | None = None,
) -> torch.Tensor:
    """The input gradient averaged over `samples` noisy copies of each image (SmoothGrad).

    Smilkov et al., SmoothGrad: removing noise by adding noise, 2017,
    https://arxiv.org/abs/1706.03825.

    The noise is Gaussian and seeded, so the result is repeatable. `attribution_map(result)` is the
    SmoothGrad saliency map. Any gradient method can be smoothed (the idea of Captum's NoiseTunnel):
    `rule="guided"` averages guided backprop, `rule="deconvnet"` the deconvnet.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to explain: a `Target` (`class_score`, `unit`), a class index, or one class
            index per image.
        noise: Standard deviation of the noise as a fraction of the image's value range (max - min);
            >= 0.
        samples: Number of noisy copies per image; >= 1.
        batch_size: Noisy copies per forward and backward pass (bounds memory).
        seed: Seed of the noise.
        rule: How ReLUs backpropagate: "gradient" (the plain gradient), "guided" or "deconvnet"
            (see `relu_rule`).
        progress: Optional callback `progress(done, total)` counting noisy copies; may raise
            `Cancelled`.

    Returns:
        (N, 3, H, W) float tensor: the mean gradient, signed, on the input's device.

    Raises:
        CnnlensError: `samples` < 1 or `noise` < 0; an unknown `rule`; `images` is not a finite
            float (N, 3, H, W) or (3, H, W) tensor; the target names an unknown layer, a unit or
            class out of range, or a position outside the map.
        Cancelled: `progress` cancelled the computation.
    """
    if samples < 1 or noise < 0:
        raise CnnlensError(f"SmoothGrad needs samples >= 1 and noise >= 0, got {samples}, {noise}")
    x = _images_for(model, images)
    target = _as_target(target)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    result = torch.empty_like(x)
    tick = _counter(progress, samples * len(x))
    for n, image in enumerate(x):
        sigma = noise * (image.max() - image.min())
        noisy = image + sigma * torch.randn(
            samples, *image.shape, generator=generator, device=x.device
        )
        per_image = _for_image(target, n, len(x))
        result[n] = _summed_gradients(model, noisy, per_image, batch_size, tick, rule)
    return result / samples


@legacy_calls(
    order=("model", "images", "target", "baseline", "steps", "batch_size", "progress"),
    renamed={"baseline": "baselines"},
)
def integrated_gradients(
    model: ModelLike,
    images: torch.Tensor,
    target: TargetLike,
    *,
    baselines: float | torch.Tensor = 0.0,
    steps: int = 32,
    batch_size: int = 32,
    progress: Progress | None = None,
) -> torch.Tensor:
    """(x - x') times the mean gradient along the straight path from a baseline x' to x.

    Sundararajan et al., Axiomatic Attribution for Deep Networks (integrated gradients), ICML 2017,
    https://arxiv.org/abs/1703.01365.

    The path integral uses the midpoint rule with `steps` points. The sum of the result approximates
    score(x) - score(x') (completeness).

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to explain: a `Target` (`class_score`, `unit`), a class index, or one class
            index per image.
        baselines: The path's start x': a value in [0, 1] image space filling every pixel (0 =
            black), or a baseline image (3, H, W) or batch (1 or N, 3, H, W) in [0, 1].
        steps: Number of points on the path; >= 1.
        batch_size: Path points per forward and backward pass (bounds memory).
        progress: Optional callback `progress(done, total)` counting path points; may raise
            `Cancelled`.

    Returns:
        (N, 3, H, W) float tensor of signed attributions, in score units.

    Raises:
        CnnlensError: `steps` < 1; `baselines` is neither a number nor an image tensor, or its size
            or count does not match `images`; `images` is not a finite float (N, 3, H, W) or (3, H,
            W) tensor; the target is out of range.
        Cancelled: `progress` cancelled the computation.
    """
    if steps < 1:
        raise CnnlensError(f"integrated gradients needs steps >= 1, got {steps}")
    x = _images_for(model, images)
    target = _as_target(target)
    start = _baseline(baselines, x)
    alphas = ((torch.arange(steps, device=x.device) + 0.5) / steps).view(-1, 1, 1, 1)
    result = torch.empty_like(x)
    tick = _counter(progress, steps * len(x))
    for n in range(len(x)):
        path = start[n] + alphas * (x[n] - start[n])
        result[n] = _summed_gradients(model, path, _for_image(target, n, len(x)), batch_size, tick)
    return (x - start) * result / steps
