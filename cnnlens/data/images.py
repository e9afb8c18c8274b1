"""User images: files, bytes, PIL images, arrays or tensors → (3, S, S) tensors in [0, 1].

Pixel values are scaled by what they are, never by guessing from their maximum: 8-bit images and
uint8 arrays by 255, 16-bit ones (Pillow modes I;16 and I, uint16 arrays) by 65535, floats are
taken as [0, 1] already (a small overshoot, as resampling leaves, is clipped).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from cnnlens.core._legacy import legacy_calls
from cnnlens.errors import CnnlensError

ImageSource = str | Path | bytes | Image.Image | np.ndarray | torch.Tensor

SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # Pillow's 16-bit (and int32) modes
FLOAT_SLACK = 0.1  # how far outside [0, 1] a float image may reach (resampling overshoot)


def _open(source: str | Path | bytes | Image.Image) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if not isinstance(source, (str, Path, bytes)):
        raise CnnlensError(
            f"cannot read an image from a {type(source).__name__}: give a file path, bytes, "
            "a PIL image, a NumPy array or a tensor"
        )
    try:
        if isinstance(source, bytes):
            return Image.open(io.BytesIO(source))
        path = Path(source).expanduser()
        if not path.is_file():
            raise CnnlensError(f"no image file at {str(path)!r}")
        return Image.open(path)
    except UnidentifiedImageError:
        raise CnnlensError("not an image file PIL can read (PNG, JPEG, ...)") from None


def _channels_last_rgb(array: np.ndarray) -> np.ndarray:
    """(H, W, 3) from an (H, W), (H, W, C) or channels-first (C, H, W) array, C = 1, 3 or 4.

    Gray is repeated, alpha dropped; the dtype is kept.
    """
    if array.ndim == 2:
        array = array[..., None]
    elif array.ndim == 3 and array.shape[-1] not in (1, 3, 4) and array.shape[0] in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise CnnlensError(
            "an image array must be (H, W), (H, W, C) or (C, H, W) with C = 1, 3 or 4, "
            f"got shape {array.shape}"
        )
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array[..., :3]


def _scaled(array: np.ndarray, full_scale: float | None = None) -> np.ndarray:
    """float32 in [0, 1] from pixel values, by their dtype (or by `full_scale` when given).

    Bool as 0/1, uint8 / 255, uint16 / 65535, other integers as 8-bit values, floats as [0, 1].
    Raises CnnlensError for values outside their range (a float image of 0..255 values, say).
    """
    if full_scale is None and array.dtype.kind == "f":
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if not np.isfinite(array).all() or low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:
            raise CnnlensError(
                f"float images are read as values in [0, 1], this one spans {low:.3g}..{high:.3g}"
                "; divide 8-bit values by 255"
            )
        return np.clip(array, 0, 1).astype(np.float32)
    if full_scale is None:
        full_scale = _white(array.dtype)
    if array.min() < 0 or array.max() > full_scale:
        raise CnnlensError(
            f"{array.dtype} image values span {array.min()}..{array.max()}, outside "
            f"0..{full_scale}; use uint8 (0..255), uint16 (0..65535) or floats in [0, 1]"
        )
    return array.astype(np.float32) / full_scale


def _white(dtype: np.dtype) -> int:
    """White for a bool or integer dtype.

    1 for bool, 65535 for 16-bit unsigned, else 255 (uint8, and other integers, read as 8-bit
    values).
    """
    if dtype.kind == "b":
        return 1
    return 65535 if dtype.kind == "u" and dtype.itemsize == 2 else 255


def _pixels(source: ImageSource) -> Image.Image | np.ndarray:
    """An 8-bit RGB PIL image, or an (H, W, 3) float32 array in [0, 1] for deeper sources."""
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        array = _channels_last_rgb(source)
        return Image.fromarray(array) if array.dtype == np.uint8 else _scaled(array)
    image = _open(source)
    if image.mode in SIXTEEN_BIT_MODES:
        return _channels_last_rgb(_scaled(np.asarray(image), full_scale=65535))
    if image.mode == "F":
        return _channels_last_rgb(_scaled(np.asarray(image)))
    return image.convert("RGB")


def _center_square(image: Image.Image, size: int) -> Image.Image:
    """The shorter side resized to `size`, then the center square kept.

    As torchvision's ImageNet preprocessing does.
    """
    scale = size / min(image.size)
    width, height = round(image.width * scale), round(image.height * scale)
    image = image.resize((max(size, width), max(size, height)), Image.Resampling.BILINEAR)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return image.crop((left, top, left + size, top + size))


@legacy_calls(order=("source", "size"))
def load_image(source: ImageSource, *, size: int | None = None) -> torch.Tensor:
    """Read an image as a (3, H, W) float32 tensor in [0, 1]: RGB, gray repeated, alpha dropped.

    Values are scaled by dtype / bit depth (see the module docstring), never by their maximum.

    Args:
        source: A file path, bytes, a PIL image, or an array or tensor of shape (H, W), (H, W, C) or
            (C, H, W) with C = 1, 3 or 4. Files and bytes are whatever PIL reads (8-bit, 16-bit,
            float TIFF).
        size: Side S in pixels: the shorter side is resized to S and the center S × S square kept
            (as torchvision's ImageNet preprocessing); None keeps the size.

    Returns:
        (3, H, W) float32 tensor in [0, 1]; (3, S, S) with `size`.

    Raises:
        CnnlensError: The source cannot be read (missing file, not an image, unsupported shape or
            dtype), or its values are outside their range (a float image of 0..255 values, say).
    """
    pixels = _pixels(source)
    if isinstance(pixels, Image.Image):  # 8 bits: resampled as such, as torchvision does
        image = pixels if size is None else _center_square(pixels, size)
        array = np.asarray(image, dtype=np.float32) / 255.0
    else:  # deeper: each channel resampled as floats (Pillow mode F)
        channels = list(np.moveaxis(pixels, -1, 0))
        if size is not None:
            channels = [np.asarray(_center_square(Image.fromarray(c), size)) for c in channels]
        array = np.clip(np.stack(channels, axis=-1), 0, 1)
    return torch.from_numpy(array.astype(np.float32)).permute(2, 0, 1).contiguous()
