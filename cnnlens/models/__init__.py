"""Models by name — the embedded shape-world CNN, every torchvision classifier, timm's models.

Or any `nn.Module`, with what cnnlens cannot guess about it declared.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from typing import Any

from torch import nn

from cnnlens.core.handle import DEFAULT_INPUT_SIZE, LoadedModel, _as_handle
from cnnlens.errors import CnnlensError
from cnnlens.models._zoo import load_torchvision, torchvision_names
from cnnlens.models.embedded import _load_shapes, checkpoint_names, read_manifest
from cnnlens.models.shapenet import ShapeNet

Triple = tuple[float, float, float]


def names() -> tuple[str, ...]:
    """The names `load` accepts: "shapes" and torchvision's classifiers.

    "timm:<name>" is accepted too, with timm installed.

    Returns:
        The names, "shapes" first.
    """
    return ("shapes", *torchvision_names())


def load(
    model: str | nn.Module = "shapes",
    *,
    pretrained: bool = True,
    checkpoint: str = "final",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    input_size: int | None = None,
    class_names: Sequence[str] | None = None,
    output: int | str | None = None,
) -> LoadedModel:
    """A model ready for every cnnlens method: by name, or a module of yours with its metadata.

    Args:
        model: "shapes" (the embedded model: offline; `checkpoint` picks an early training stage,
            `pretrained=False` its untrained init "epoch0"); any torchvision classifier name
            ("resnet50", "mobilenet_v2", ...: torchvision's pretrained weights, or random ones with
            `pretrained=False`); "timm:<name>" with timm installed; or an `nn.Module`.
        pretrained: Trained weights (False: random weights, for architecture demos; for "shapes" the
            untrained init).
        checkpoint: For "shapes", the shipped training checkpoint (`checkpoint_names()`; "final" by
            default).
        mean: Per-channel RGB mean the network's normalization subtracts from [0, 1] images (default
            for a module: none).
        std: Per-channel RGB standard deviation it divides by (default for a module: none).
        input_size: The side in pixels the network takes (default for a module: 224).
        class_names: A name per output (default for a module: "class i").
        output: Where the logits are in the forward's output when it is not one tensor: a tuple
            index or a key/attribute name (default: the first tensor, or "logits").

    Returns:
        A `LoadedModel`; the given metadata overrides what a name brings.

    Raises:
        CnnlensError: Unknown name (with close matches), unknown checkpoint, a corrupt weights file
            (checksum mismatch), missing pretrained weights offline (with the path to put them at),
            timm missing for "timm:...", or malformed metadata.
    """
    if isinstance(model, nn.Module):  # as_handle says once if a torchvision net lacks its mean
        plain = mean is None and std is None
        handle = (
            _as_handle(model)
            if plain
            else LoadedModel(model, type(model).__name__, DEFAULT_INPUT_SIZE, ())
        )
    elif not isinstance(model, str):
        raise CnnlensError(f"load takes a model name or an nn.Module, got {type(model).__name__}")
    elif model == "shapes":
        handle = _load_shapes(checkpoint if pretrained else "epoch0")
    elif model.startswith("timm:"):
        from cnnlens.models._timm_models import load_timm

        handle = load_timm(model.removeprefix("timm:"), pretrained)
    elif model in torchvision_names():
        handle = load_torchvision(model, pretrained)
    else:
        close = difflib.get_close_matches(model, names(), n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise CnnlensError(
            f"unknown model {model!r}{hint} (cnnlens.models.names() lists them; "
            "'timm:<name>' loads from timm; cnnlens.load(module) takes your own)"
        )
    return _declared(handle, mean, std, input_size, class_names, output)


def _triple(name: str, values: Sequence[float] | None) -> Triple | None:
    if values is None:
        return None
    values = tuple(float(v) for v in values)
    if len(values) != 3:
        raise CnnlensError(f"{name} needs 3 values (R, G, B), got {len(values)}")
    if name == "std" and min(values) <= 0:
        raise CnnlensError(f"std values must be positive, got {values}")
    return values


def _declared(
    handle: LoadedModel,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    input_size: int | None,
    class_names: Sequence[str] | None,
    output: int | str | None,
) -> LoadedModel:
    """`handle` with what the caller declared put over what the name brought."""
    if input_size is not None and (isinstance(input_size, bool) or int(input_size) < 1):
        raise CnnlensError(f"input_size must be a positive number of pixels, got {input_size}")
    given: dict[str, Any] = {  # LoadedModel fields
        "mean": _triple("mean", mean),
        "std": _triple("std", std),
        "input_size": None if input_size is None else int(input_size),
        "class_names": None if class_names is None else tuple(map(str, class_names)),
        "output": output,
    }
    given = {key: value for key, value in given.items() if value is not None}
    if "class_names" in given and not handle.heads:
        given["heads"] = {"class": slice(0, len(given["class_names"]))}
    return dataclasses.replace(handle, **given) if given else handle


__all__ = ["LoadedModel", "ShapeNet", "checkpoint_names", "load", "names", "read_manifest"]
