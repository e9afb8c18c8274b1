"""Colour scales, in one place: every map a lecture or widget draws goes through one of them.

- Signed maps (occlusion, CAM, gradient × input, a pre-ReLU feature map): symmetric limits
  ±max|value|, white at exactly 0, red for positive, blue for negative (`signed_scale`).
- Non-negative maps (saliency, Grad-CAM): 0 … max on inferno, black = none (`heat_scale`).
- Activations: `level_scale` picks the signed scale when a map has negative values, else
  0 … max on viridis.

Categories (a legend's classes) get `_category_colours`: a class named after a shape-world colour
is drawn in that colour ("red" in red), any other in a qualitative palette.

A `Scale` colours values (`rgb`), gives matplotlib its arguments (`imshow_kwargs`) and the stops
of a compact colour bar (`stops`); `draw_map` draws a map with its colour bar on axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Colormap, LinearSegmentedColormap, to_hex

from cnnlens.data.shapeworld import COLOR_RGB
from cnnlens.plot.images import colorize

if TYPE_CHECKING:  # matplotlib's axes, only for the annotations
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage

TINY = 1e-12  # the smallest bound a scale gets (an all-zero map still has a range)


def _white_centred(name: str) -> Colormap:
    """`name`'s diverging colormap with its centre set to pure white (RdBu's is light gray)."""
    base = colormaps[name]
    points = np.linspace(0.0, 1.0, 11)
    colours = [base(p) for p in points]
    colours[5] = (1.0, 1.0, 1.0, 1.0)
    # 257 entries: value 0 (the middle, 0.5) lands on entry 128, the pure white one
    return LinearSegmentedColormap.from_list(
        f"cnnlens_{name}", list(zip(points, colours, strict=True)), 257
    )


SIGNED_CMAP: Colormap = _white_centred("RdBu_r")
HEAT_CMAP: Colormap = colormaps["inferno"]
LEVEL_CMAP: Colormap = colormaps["viridis"]


class ImshowKwargs(TypedDict):
    """What a `Scale` gives matplotlib's `imshow`."""

    cmap: Colormap
    vmin: float
    vmax: float


@dataclass(frozen=True)
class Scale:
    """A colour scale: values `low` … `high` through `cmap` (clipped outside).

    Args:
        cmap: The matplotlib colormap.
        low: The value drawn at the colormap's start.
        high: The value drawn at its end.
        label: What is measured (the colour bar's label).
    """

    cmap: Colormap
    low: float
    high: float
    label: str = ""

    @property
    def signed(self) -> bool:
        """Whether this is the signed convention (symmetric limits, white = 0)."""
        return self.cmap is SIGNED_CMAP

    def rgb(self, values: np.ndarray) -> np.ndarray:
        """Colour values as RGB.

        Args:
            values: (H, W) or (N, H, W) float array.

        Returns:
            (..., 3) float32 array in [0, 1].
        """
        return colorize(np.asarray(values, np.float32), self.cmap, self.low, self.high)

    def imshow_kwargs(self) -> ImshowKwargs:
        """`cmap`, `vmin` and `vmax` for matplotlib's `imshow`."""
        return {"cmap": self.cmap, "vmin": self.low, "vmax": self.high}

    def stops(self, count: int = 9) -> list[tuple[float, str]]:
        """`count` (value, '#rrggbb') pairs from low to high: a colour bar's gradient."""
        values = np.linspace(self.low, self.high, count)
        return [(float(v), to_hex(c)) for v, c in zip(values, self.rgb(values), strict=True)]


def _bound(values: np.ndarray) -> float:
    array = np.asarray(values, np.float64)
    return max(float(np.abs(array).max()) if array.size else 0.0, TINY)


def signed_scale(values: np.ndarray, label: str = "") -> Scale:
    """The signed convention for `values` (any shape): limits ±max|value|, white = 0.

    Args:
        values: Float array of any shape.
        label: What is measured.

    Returns:
        The `Scale` (red positive, blue negative).
    """
    bound = _bound(values)
    return Scale(SIGNED_CMAP, -bound, bound, label)


def heat_scale(values: np.ndarray, label: str = "") -> Scale:
    """A non-negative map's scale: 0 (black) … max (yellow) on inferno.

    Args:
        values: Float array of any shape, >= 0.
        label: What is measured.

    Returns:
        The `Scale`.
    """
    return Scale(HEAT_CMAP, 0.0, max(float(np.max(values)), TINY), label)


def level_scale(values: np.ndarray, label: str = "") -> Scale:
    """Activations: the signed convention if any value is negative, else 0 … max on viridis.

    Args:
        values: Float array of any shape.
        label: What is measured.

    Returns:
        The `Scale`.
    """
    if float(np.min(values)) < 0:
        return signed_scale(values, label)
    return Scale(LEVEL_CMAP, 0.0, max(float(np.max(values)), TINY), label)


def draw_map(
    axes: Axes,
    values: np.ndarray,
    scale: Scale | None = None,
    colorbar: bool = True,
    bar_axes: Axes | list[Axes] | None = None,
) -> AxesImage:
    """Draw a 2-D map on matplotlib `axes` on `scale`, with a slim colour bar beside it.

    Maps that share one `scale` (e.g. `signed_scale` of all of them) share one bar: draw the last
    with `bar_axes` = the list of their axes (use a figure with layout="constrained"), the others
    with `colorbar=False`.

    Args:
        axes: The matplotlib Axes to draw on.
        values: (H, W) float array.
        scale: The `Scale`; None for the signed convention of `values`.
        colorbar: Draw the colour bar.
        bar_axes: The axes the bar is placed beside (one, or a list sharing it); None for `axes`.

    Returns:
        The matplotlib AxesImage.
    """
    scale = signed_scale(values) if scale is None else scale
    image = axes.imshow(np.asarray(values), **scale.imshow_kwargs())
    if colorbar:
        span = axes if bar_axes is None else bar_axes
        bar = axes.figure.colorbar(image, ax=span, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=7)
        if scale.label:
            bar.set_label(scale.label, fontsize=7)
    return image


PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def _category_colours(names: tuple[str, ...] | list[str]) -> list[tuple[float, float, float]]:
    """One RGB colour (floats in [0, 1]) per class name.

    A shape-world colour's own RGB (`COLOR_RGB`: "red" is drawn red, "yellow" yellow) where the name
    is one, otherwise the next colour of a qualitative palette (shapes, textures, numbered labels).
    """
    others = iter(range(len(names)))
    colours: list[tuple[float, float, float]] = []
    for name in names:
        if name in COLOR_RGB:
            red, green, blue = (float(c) for c in COLOR_RGB[name])
        else:
            hex_code = PALETTE[next(others) % len(PALETTE)].lstrip("#")
            red, green, blue = (int(hex_code[i : i + 2], 16) / 255 for i in (0, 2, 4))
        colours.append((red, green, blue))
    return colours
