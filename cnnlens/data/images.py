"""User images: files, bytes, PIL images or arrays → (3, S, S) tensors in [0, 1] for a model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from cnnlens.errors import CnnlensError

ImageSource = str | Path | bytes | Image.Image | np.ndarray


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        array = source.astype(np.float32)
        if array.max() > 1.0:
            array = array / 255.0
        return Image.fromarray((np.clip(array, 0, 1) * 255).astype(np.uint8).squeeze())
    try:
        if isinstance(source, bytes):
            return Image.open(io.BytesIO(source))
        path = Path(source).expanduser()
        if not path.is_file():
            raise CnnlensError(f"no image file at {str(path)!r}")
        return Image.open(path)
    except UnidentifiedImageError:
        raise CnnlensError("not an image file PIL can read (PNG, JPEG, ...)") from None


def load_image(source: ImageSource, size: int | None = None) -> torch.Tensor:
    """Read an image as RGB (grayscale and RGBA are converted), center-cropped and resized.

    With `size`, the shorter side is resized to `size` and the center square kept, as the
    torchvision ImageNet preprocessing does.
    """
    image = _open(source).convert("RGB")
    if size is not None:
        scale = size / min(image.size)
        width, height = round(image.width * scale), round(image.height * scale)
        image = image.resize((max(size, width), max(size, height)), Image.Resampling.BILINEAR)
        left, top = (image.width - size) // 2, (image.height - size) // 2
        image = image.crop((left, top, left + size, top + size))
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()
