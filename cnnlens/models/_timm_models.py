"""timm's models by name ("timm:resnet50"), when timm is installed (`pip install timm`)."""

from __future__ import annotations

import difflib

from cnnlens.core.handle import DEFAULT_INPUT_SIZE, LoadedModel
from cnnlens.errors import CnnlensError


def load_timm(name: str, pretrained: bool) -> LoadedModel:
    """Build `timm.create_model(name)`; normalization and input size from its pretrained config.

    Raises:
        CnnlensError: timm is not installed, the name is unknown to it, or pretrained weights
            cannot be had (offline).
    """
    try:
        import timm
        from timm.data import resolve_data_config
    except ImportError:
        raise CnnlensError(
            f"'timm:{name}' needs timm: pip install timm (or cnnlens[timm])"
        ) from None
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        hint = f"; did you mean {', '.join(repr(f'timm:{c}') for c in close)}?" if close else ""
        raise CnnlensError(f"timm has no model {name!r}{hint}")
    try:
        net = timm.create_model(name, pretrained=pretrained)
    except (OSError, RuntimeError) as exc:  # no network, no cached file
        raise CnnlensError(
            f"no pretrained weights for 'timm:{name}' ({type(exc).__name__}, offline?); "
            "put them in the Hugging Face cache, or load with pretrained=False"
        ) from None
    net.eval()
    config = resolve_data_config({}, model=net)
    size = config.get("input_size", (3, DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE))[-1]
    classes = getattr(net, "num_classes", 0)
    return LoadedModel(
        net=net,
        name=f"timm:{name}",
        input_size=int(size),
        class_names=(),
        mean=tuple(config.get("mean", (0.0, 0.0, 0.0))),
        std=tuple(config.get("std", (1.0, 1.0, 1.0))),
        heads={"class": slice(0, classes)} if classes else {},
        pretrained=pretrained,
    )
