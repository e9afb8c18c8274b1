"""Pictures of a dissection: a unit's top images with its mask, detectors per category, a report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cnnlens.dissection.report import to_html
from cnnlens.dissection.result import Dissection
from cnnlens.plot.images import grid, png_bytes, to_numpy

# A mask's outline: white on its edge, black just outside it, so it shows on every shape-world
# colour (a yellow outline vanished on yellow objects).
OUTLINE_RGB = (1.0, 1.0, 1.0)
OUTSIDE_RGB = (0.0, 0.0, 0.0)
CATEGORY_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")


def _outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of a mask that touch a pixel outside it."""
    padded = np.pad(mask, 1, constant_values=False)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner


def _border(shape: tuple[int, int]) -> np.ndarray:
    """The pixels on the edge of an image of `shape` (an outline of the outside would trace it)."""
    edge = np.zeros(shape, bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    return edge


def _masked_picture(image: torch.Tensor, mask: torch.Tensor, dim: float = 0.3) -> np.ndarray:
    """An RGB (H, W, 3) view of one image: full brightness inside the mask, dimmed outside.

    The mask is resized to the image (nearest); its outline is white with a black line just outside
    it.
    """
    picture = to_numpy(image)
    height, width = picture.shape[:2]
    rows = np.arange(height) * mask.shape[0] // height
    cols = np.arange(width) * mask.shape[1] // width
    inside = mask.cpu().numpy()[rows[:, None], cols[None, :]]
    out = np.where(inside[..., None], picture, dim * picture)
    out[_outline(~inside) & ~_border(inside.shape)] = OUTSIDE_RGB
    out[_outline(inside)] = OUTLINE_RGB
    return out


def unit_strip(images: torch.Tensor, masks: torch.Tensor, scale: int = 1) -> np.ndarray:
    """A unit's top images side by side, each with its thresholded mask (see _masked_picture)."""
    tiles = np.stack(
        [_masked_picture(image, mask) for image, mask in zip(images, masks, strict=True)]
    )
    if scale > 1:
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    return grid(tiles, columns=len(tiles), pad=2)


def _category_bars(
    counts: Mapping[str, int], units: int, title: str = "", size: tuple[float, float] = (4, 2.4)
) -> np.ndarray:
    """A bar chart of detectors per category as an RGB array (drawn off-screen)."""
    figure = Figure(figsize=size, dpi=80)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = list(counts)
    colors = [CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i in range(len(names))]
    bars = axes.bar(names, [counts[n] for n in names], color=colors)
    axes.bar_label(bars)
    axes.set_ylim(0, max(1, units))
    axes.set_ylabel(f"detectors (of {units})")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(np.float32) / 255


def save_report(result: Dissection, path: str | Path, scale: int = 1) -> Path:
    """Write the HTML report of `result` with every unit's top images and the summary chart."""
    pictures = {
        unit: png_bytes(unit_strip(*result.top_images(unit), scale=scale))
        for unit in range(result.units)
    }
    chart = _category_bars(result.detectors(), result.units, result.layer)
    return to_html(result, path, pictures=pictures, summary_png=png_bytes(chart))
