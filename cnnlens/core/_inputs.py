"""Validation of image batches, so bad input fails early with a one-line, actionable message."""

from __future__ import annotations

import numpy as np
import torch

from cnnlens.errors import CnnlensError


def check_images(images: object) -> torch.Tensor:
    """Return a float (N, 3, H, W) batch; a single (3, H, W) image gets a batch dimension.

    Rejects non-tensors, wrong rank, grayscale / RGBA / channels-last, integer dtypes and NaN/inf.
    """
    if not isinstance(images, torch.Tensor):
        raise CnnlensError(
            f"images must be a torch.Tensor (N, 3, H, W) in [0, 1], got {type(images).__name__}; "
            "cnnlens.data.load_image(path) reads a file"
        )
    single = images.dim() == 3
    x = images.unsqueeze(0) if single else images
    if x.dim() != 4:
        hint = "; a grayscale (H, W) image: use x.expand(3, -1, -1)" if images.dim() == 2 else ""
        raise CnnlensError(
            f"images must have shape (N, 3, H, W) or (3, H, W), got {tuple(images.shape)}{hint}"
        )
    channels = x.shape[1]
    if channels != 3:
        raise CnnlensError(
            f"images have {channels} channels, shape {tuple(images.shape)}; "
            + _channel_hint(channels, x.shape[-1], single)
        )
    if not x.is_floating_point():
        raise CnnlensError(
            f"images must be floating point in [0, 1], got {x.dtype}; use x.float() / 255"
        )
    if not torch.isfinite(x).all():
        raise CnnlensError("images contain NaN or infinite values")
    return x


def batch_like(images: object, like: torch.Tensor, what: str) -> torch.Tensor:
    """A second image argument (a baseline, a start image) checked against the batch `like`.

    `like` is (N, 3, H, W); the result is expanded to it: one image, or a batch of 1, serves every
    image; a batch of N gives each its own. Raises CnnlensError for another image size or another
    count.
    """
    x = check_images(images)
    if x.shape[-2:] != like.shape[-2:]:
        (height, width), (h, w) = like.shape[-2:], x.shape[-2:]
        raise CnnlensError(
            f"the {what} is {h}×{w} pixels, the images {height}×{width}; "
            f"resize it, e.g. cnnlens.data.load_image(source, size={width})"
        )
    if len(x) not in (1, len(like)):
        raise CnnlensError(
            f"got {len(x)} {what} images for {len(like)} images: give one for all or one per image"
        )
    return x.to(like).expand_as(like)


def _channel_hint(channels: int, last: int, single: bool) -> str:
    """What to do about a batch (or, `single`, one image) whose channels are not 3.

    As code for the tensor's own rank.
    """
    if last in (1, 3, 4):
        return f"looks channels-last: use x.permute({'2, 0, 1' if single else '0, 3, 1, 2'})"
    if channels == 1:
        return f"grayscale: repeat it to RGB with x.repeat({'3, 1, 1' if single else '1, 3, 1, 1'})"
    if channels == 4:
        return f"RGBA: drop the alpha channel with {'x[:3]' if single else 'x[:, :3]'}"
    return "expected 3 (RGB)"


def as_index(value: object, what: str = "unit") -> int:
    """A Python int from an int, a NumPy integer, or a 0-d integer tensor or array.

    That is what `labels[i]` and iterating over a tensor of targets give. Raises CnnlensError for
    anything else: floats, bools, several values.
    """
    given = value
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        kind = type(given).__name__
        if isinstance(given, (torch.Tensor, np.ndarray)):
            kind += f" of {given.dtype}, shape {tuple(given.shape)}"
        raise CnnlensError(f"{what} must be an integer, got {kind}")
    return int(value)


def check_unit(unit: object, units: int, layer: str, what: str = "unit") -> int:
    """Validate a unit (channel) or class index against a layer's channel count.

    Returns it as a Python int (see `as_index` for what counts as an integer).
    """
    index = as_index(unit, what)
    if not 0 <= index < units:
        plural = what + ("es" if what.endswith("s") else "s")
        raise CnnlensError(f"{what} {index} out of range: {layer!r} has {plural} 0..{units - 1}")
    return index
