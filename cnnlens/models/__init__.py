"""Models by name: the embedded shape-world CNN and torchvision's ImageNet CNNs."""

from __future__ import annotations

import difflib

from cnnlens.errors import CnnlensError
from cnnlens.models.embedded import checkpoint_names, load_shapes
from cnnlens.models.handle import LoadedModel

TORCHVISION_NAMES = ("alexnet", "vgg16", "googlenet", "resnet18")
NAMES = ("shapes", *TORCHVISION_NAMES)


def load(
    name: str = "shapes", *, pretrained: bool = True, checkpoint: str = "final"
) -> LoadedModel:
    """Load a model by name, ready for every cnnlens method.

    "shapes" is the embedded model (offline; `checkpoint` picks an early training stage, and
    `pretrained=False` its untrained init, "epoch0"). ImageNet models load torchvision's pretrained
    weights, or random weights with `pretrained=False`.
    """
    if name == "shapes":
        return load_shapes(checkpoint if pretrained else "epoch0")
    if name in TORCHVISION_NAMES:
        from cnnlens.models.zoo import load_torchvision

        return load_torchvision(name, pretrained)
    close = difflib.get_close_matches(str(name), NAMES, n=2)
    hint = f" did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise CnnlensError(f"unknown model {name!r}; available: {', '.join(NAMES)}.{hint}")


__all__ = ["NAMES", "LoadedModel", "checkpoint_names", "load"]
