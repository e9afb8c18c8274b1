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
    """A CPU float array; torch CHW / NCHW images become HWC / NHWC."""
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
    """Map a 2-D (or stacked N×H×W) array to RGB in [0, 1] with a matplotlib colormap (a name
    or a Colormap)."""
    low = float(np.min(values)) if vmin is None else vmin
    high = float(np.max(values)) if vmax is None else vmax
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    colormap = colormaps[cmap] if isinstance(cmap, str) else cmap
    return colormap(np.clip(scaled, 0, 1))[..., :3].astype(np.float32)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling: pixels stay crisp, every weight or activation stays visible."""
    return image if factor <= 1 else image.repeat(factor, axis=0).repeat(factor, axis=1)


def grid(
    tiles: np.ndarray,
    columns: int | None = None,
    pad: int = 1,
    pad_value: float = 1.0,
    highlight: int | None = None,
    highlight_rgb: tuple[float, float, float] = (1.0, 0.25, 0.0),
) -> np.ndarray:
    """Arrange N tiles (N, h, w) or (N, h, w, 3) in a padded grid; `highlight` frames one tile."""
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
    """Encode an (H, W) or (H, W, 3) array in [0, 1] as PNG, optionally upscaled."""
    array = np.clip(upscale(np.asarray(image, np.float32), scale), 0.0, 1.0)
    buffer = io.BytesIO()
    Image.fromarray((array * 255 + 0.5).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def figure_png(figure: Figure, dpi: float | None = None) -> bytes:
    """A matplotlib Figure as PNG bytes (for an ipywidgets.Image), at `dpi` (None: the
    figure's own), so the PNG is figsize × dpi pixels and can be shown at that size."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def fit_scale(size: int, target: int) -> int:
    """Integer upscale factor that brings `size` pixels close to `target` pixels (at least 1)."""
    return max(1, round(target / max(1, size)))
