"""Random transforms applied to the images before each forward (transformation robustness).

Also the Gaussian blur with its σ schedule used by the blur regularizer. A transform is a callable
`(images, generator) -> images`; its randomness comes from the render's seeded generator and is
drawn once per step for the whole batch, so a batch of units is rendered exactly as each unit would
be alone. The built-in ones (pad, jitter, scale, rotate, resize) are geometric: `compose` folds a
run of them into one affine map and samples the images once, which is both faster and sharper than
resampling after each. Olah et al., Feature Visualization, Distill 2017,
https://distill.pub/2017/feature-visualization/.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import KW_ONLY, dataclass

import torch
import torch.nn.functional as F

from cnnlens.core._legacy import legacy_calls, legacy_fields
from cnnlens.errors import CnnlensError

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
Drawn = tuple[torch.Tensor, tuple[int, int]]  # a geometric transform's affine map and output size


MID_GRAY = 0.5  # what geometric transforms show outside the image unless a pad says otherwise


@legacy_fields(("draw", "fill"))
@dataclass(frozen=True)
class Geometric:
    """A random transform that moves pixels (what `pad`, `jitter`, `scale` and `rotate` return).

    Consecutive geometric transforms in `compose` are resampled once: one bilinear pass however many
    there are, and no blur from resampling the image over and over.

    Attributes:
        draw: `draw(generator, (h, w))` gives the 3×3 affine map from output to input pixel centres
            ((x, y, 1) columns) and the output size.
        fill: What a pad puts outside the image, in [0, 1]; None for the other transforms.
    """

    draw: Callable[[torch.Generator, tuple[int, int]], Drawn]
    _: KW_ONLY
    fill: float | None = None

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Transform (N, C, H, W) images with one draw from `generator` for the whole batch."""
        return _resample(x, [self], generator)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _check(name: str, value: float, low: float = 0.0) -> None:
    if value < low:
        raise CnnlensError(f"{name} must be at least {low:g}, got {value:g}")


def _affine(a: float, b: float, c: float, d: float, e: float, f: float) -> torch.Tensor:
    return torch.tensor([[a, b, c], [d, e, f], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _resize_map(size: tuple[int, int], out: tuple[int, int]) -> Drawn:
    """Bilinear resizing from `size` to `out` (F.interpolate's align_corners=False geometry)."""
    sy, sx = size[0] / out[0], size[1] / out[1]
    return _affine(sx, 0.0, 0.5 * sx - 0.5, 0.0, sy, 0.5 * sy - 0.5), out


def _normalized(size: tuple[int, int]) -> torch.Tensor:
    """Pixel centres → affine_grid's [-1, 1] coordinates (align_corners=False)."""
    h, w = size
    return _affine(2 / w, 0.0, 1 / w - 1, 0.0, 2 / h, 1 / h - 1)


def _resample(
    x: torch.Tensor, transforms: Sequence[Geometric], generator: torch.Generator
) -> torch.Tensor:
    """Apply geometric `transforms` in order with one bilinear sampling of `x`."""
    size = (x.shape[-2], x.shape[-1])
    source, mapping = size, torch.eye(3, dtype=torch.float64)
    for transform in transforms:
        step, size = transform.draw(generator, size)
        mapping = mapping @ step
    fill = next((t.fill for t in transforms if t.fill is not None), MID_GRAY)
    theta = _normalized(source) @ mapping @ torch.linalg.inv(_normalized(size))
    theta = theta[:2].to(x).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, [len(x), x.shape[1], *size], align_corners=False)
    return F.grid_sample(x - fill, grid, align_corners=False) + fill


def jitter(pixels: int) -> Geometric:
    """Shift the images by a whole number of pixels, up to `pixels` in each direction.

    Args:
        pixels: The largest shift, in pixels.

    Returns:
        The transform.
    """
    _check("jitter", pixels)

    def draw(generator: torch.Generator, size: tuple[int, int]) -> Drawn:
        dy, dx = torch.randint(-pixels, pixels + 1, (2,), generator=generator).tolist()
        return _affine(1.0, 0.0, -dx, 0.0, 1.0, -dy), size

    return Geometric(draw)


@legacy_calls(order=("pixels", "value"))
def pad(pixels: int, *, value: float = MID_GRAY) -> Geometric:
    """Surround the images with a constant border (mid-gray by default).

    Args:
        pixels: Border width in pixels.
        value: Border value in [0, 1].

    Returns:
        The transform: (N, C, H, W) to (N, C, H + 2·pixels, W + 2·pixels).
    """
    _check("pad", pixels)

    def draw(_generator: torch.Generator, size: tuple[int, int]) -> Drawn:
        return _affine(1.0, 0.0, -pixels, 0.0, 1.0, -pixels), (
            size[0] + 2 * pixels,
            size[1] + 2 * pixels,
        )

    return Geometric(draw, fill=value)


def scale(spread: float) -> Geometric:
    """Resize the images by a random factor in [1 − spread, 1 + spread] (bilinear).

    Args:
        spread: Half-width of the factor's range, e.g. 0.1.

    Returns:
        The transform.
    """
    _check("scale spread", spread)

    def draw(generator: torch.Generator, size: tuple[int, int]) -> Drawn:
        factor = _uniform(generator, 1 - spread, 1 + spread)
        return _resize_map(size, (max(1, round(size[0] * factor)), max(1, round(size[1] * factor))))

    return Geometric(draw)


def resize(side: int) -> Geometric:
    """Resize the images to `side` × `side` pixels (bilinear), e.g. back to the render size.

    Args:
        side: Output side in pixels.

    Returns:
        The transform.
    """
    _check("resize", side, 1)
    return Geometric(lambda _generator, size: _resize_map(size, (side, side)))


def center(side: int) -> Geometric:
    """The central `side` × `side` pixels (whole-pixel offsets, no interpolation blur).

    The render ends its chain with it for a network that takes only its own input size.

    Args:
        side: Output side in pixels.

    Returns:
        The transform.
    """
    _check("center crop", side, 1)

    def draw(_generator: torch.Generator, size: tuple[int, int]) -> Drawn:
        top, left = (size[0] - side) // 2, (size[1] - side) // 2
        return _affine(1.0, 0.0, left, 0.0, 1.0, top), (side, side)

    return Geometric(draw)


def rotate(degrees: float) -> Geometric:
    """Rotate the images about their centre by a random angle in [−degrees, degrees].

    Args:
        degrees: The largest angle, in degrees.

    Returns:
        The transform.
    """
    _check("rotation", degrees)

    def draw(generator: torch.Generator, size: tuple[int, int]) -> Drawn:
        angle = math.radians(_uniform(generator, -degrees, degrees))
        cos, sin = math.cos(angle), math.sin(angle)
        cy, cx = (size[0] - 1) / 2, (size[1] - 1) / 2
        return _affine(
            cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy
        ), size

    return Geometric(draw)


def _runs(transforms: Sequence[Transform]) -> list[Transform]:
    """Group consecutive geometric transforms into one resampling each.

    A pad with a different fill starts a new group.
    """
    grouped: list[Transform | list[Geometric]] = []
    for transform in transforms:
        run = grouped[-1] if grouped and isinstance(grouped[-1], list) else None
        if isinstance(transform, Geometric) and run is not None:
            fills = {t.fill for t in run if t.fill is not None}
            if transform.fill is None or fills <= {transform.fill}:
                run.append(transform)
                continue
        grouped.append([transform] if isinstance(transform, Geometric) else transform)
    return [_resampling(item) if isinstance(item, list) else item for item in grouped]


def _resampling(run: list[Geometric]) -> Transform:
    """One transform that applies the geometric `run` with a single resampling."""
    return lambda x, generator: _resample(x, run, generator)


def compose(transforms: Sequence[Transform]) -> Transform:
    """Apply `transforms` in order; each run of geometric ones costs a single resampling.

    Args:
        transforms: Callables `(images, generator) -> images`.

    Returns:
        One transform.
    """
    steps = _runs(transforms)

    def apply(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for step in steps:
            x = step(x, generator)
        return x

    return apply


STANDARD_KINDS = ("pad", "jitter", "scale", "rotate")


@legacy_calls(order=("size", "kinds"))
def standard(size: int, *, kinds: Collection[str] = STANDARD_KINDS) -> list[Transform]:
    """Lucid's standard robustness transforms, their pixel amounts scaled from 128 px to `size`.

    Pad 12 px, jitter 8 px, scale ±10 %, rotate ±10°, jitter 4 px (pixel amounts at 128 px); Lucid,
    https://github.com/tensorflow/lucid.

    Args:
        size: The render size in pixels.
        kinds: Which of "pad", "jitter", "scale", "rotate" to include (the widget's toggles).

    Returns:
        The transforms, in order.

    Raises:
        CnnlensError: An unknown kind.
    """
    unknown = sorted(set(kinds) - set(STANDARD_KINDS))
    if unknown:
        raise CnnlensError(f"unknown transform(s) {unknown}; choose from {list(STANDARD_KINDS)}")
    unit = size / 128
    steps = [
        ("pad", pad(round(12 * unit))),
        ("jitter", jitter(round(8 * unit))),
        ("scale", scale(0.1)),
        ("rotate", rotate(10.0)),
        ("jitter", jitter(max(1, round(4 * unit)))),
    ]
    return [transform for kind, transform in steps if kind in kinds]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur images with a Gaussian (reflected borders).

    Args:
        x: (N, C, H, W) float tensor.
        sigma: Standard deviation in pixels.

    Returns:
        (N, C, H, W) float tensor.
    """
    if sigma <= 0:
        return x
    radius = min(math.ceil(3 * sigma), x.shape[-1] - 1, x.shape[-2] - 1)
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    x = F.pad(x, [radius] * 4, mode="reflect")
    return F.conv2d(F.conv2d(x, rows, groups=channels), cols, groups=channels)


def _sigma_schedule(start: float, end: float) -> Callable[[float], float]:
    """σ shrinking linearly from `start` to `end` as the render goes from 0 to 1 (Øygard)."""
    _check("blur sigma", min(start, end))
    return lambda fraction: start + (end - start) * min(max(fraction, 0.0), 1.0)
