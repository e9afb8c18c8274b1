"""Plain arrays → pictures: tile grids, colormapped maps, crisp upscaling, PNG bytes."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from PIL import Image


def to_numpy(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """A CPU float array; torch CHW / NCHW images become HWC / NHWC.

    Args:
        images: A tensor or an array; a (C, H, W) or (N, C, H, W) tensor with C = 1 or 3 is moved to
            channels last, anything else keeps its layout.

    Returns:
        float32 array: (H, W, C) / (N, H, W, C) for image tensors.
    """
    if isinstance(images, torch.Tensor):
        array = images.detach().to("cpu", torch.float32).numpy()
        if array.ndim in (3, 4) and array.shape[-3] in (1, 3):
            array = np.moveaxis(array, -3, -1)
        return array
    return np.asarray(images, dtype=np.float32)


def colorize(
    values: np.ndarray,
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> np.ndarray:
    """Map a 2-D (or stacked N×H×W) array to RGB in [0, 1] with a matplotlib colormap.

    Args:
        values: (H, W) or (N, H, W) float array.
        cmap: A colormap name or a Colormap.
        vmin: The value at the colormap's start; None for the minimum of `values`.
        vmax: The value at its end; None for the maximum.

    Returns:
        (..., 3) float32 array in [0, 1]; values outside [vmin, vmax] are clipped.
    """
    low = float(np.min(values)) if vmin is None else vmin
    high = float(np.max(values)) if vmax is None else vmax
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
    return colormap(np.clip(scaled, 0, 1))[..., :3].astype(np.float32)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling: pixels stay crisp, every weight or activation stays visible.

    Args:
        image: (H, W) or (H, W, C) array.
        factor: Integer factor; 1 or less returns `image` as it is.

    Returns:
        (factor·H, factor·W[, C]) array.
    """
    return image if factor <= 1 else image.repeat(factor, axis=0).repeat(factor, axis=1)


def grid(
    tiles: np.ndarray,
    columns: int | None = None,
    pad: int = 1,
    pad_value: float = 1.0,
    highlight: int | None = None,
    highlight_rgb: tuple[float, float, float] = (1.0, 0.25, 0.0),
) -> np.ndarray:
    """Arrange N tiles in a padded grid; `highlight` frames one tile.

    Args:
        tiles: (N, h, w) (gray) or (N, h, w, 3) float array in [0, 1].
        columns: Tiles per row; None for ceil(sqrt(N)).
        pad: Gutter width in pixels.
        pad_value: Gutter brightness in [0, 1].
        highlight: Index of the tile to frame (in the gutter, so `pad` must be > 0), or None.
        highlight_rgb: The frame's colour.

    Returns:
        (rows·(h + pad) + pad, columns·(w + pad) + pad, 3) float32 array.
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim == 3:
        tiles = np.repeat(tiles[..., None], 3, axis=-1)
    count, h, w, _ = tiles.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), pad_value, np.float32)
    for i, tile in enumerate(tiles):
        top, left = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        out[top : top + h, left : left + w] = tile
        if i == highlight and pad:
            out[top - pad : top + h + pad, left - pad : left + w + pad][
                _frame((h + 2 * pad, w + 2 * pad), pad)
            ] = highlight_rgb
    return out


def _frame(shape: tuple[int, int], width: int) -> np.ndarray:
    mask = np.ones(shape, bool)
    mask[width:-width, width:-width] = False
    return mask


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """Encode an (H, W) or (H, W, 3) array in [0, 1] as PNG, optionally upscaled.

    Args:
        image: (H, W) or (H, W, 3) float array in [0, 1].
        scale: Integer nearest-neighbour upscale factor.

    Returns:
        The PNG file's bytes.
    """
    array = np.clip(upscale(np.asarray(image, np.float32), scale), 0.0, 1.0)
    buffer = io.BytesIO()
    Image.fromarray((array * 255 + 0.5).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _figure_png(figure: Figure, dpi: float | None = None) -> bytes:
    """A matplotlib Figure as PNG bytes (for an ipywidgets.Image), at `dpi`.

    `dpi` None is the figure's own, so the PNG is figsize × dpi pixels and can be shown at that
    size.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def fit_scale(size: int, target: int) -> int:
    """Integer upscale factor that brings `size` pixels close to `target` pixels (at least 1).

    Args:
        size: The picture's side in pixels.
        target: The wanted side in pixels.

    Returns:
        The factor, >= 1.
    """
    return max(1, round(target / max(1, size)))
