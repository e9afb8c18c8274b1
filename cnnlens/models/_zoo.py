"""torchvision's classifiers by name: pretrained when the weights can be had, else random.

Every name in `torchvision.models.list_models(module=torchvision.models)` loads; the handle's
normalization, input size and class names come from the architecture's default weights entry
(`get_model_weights(name).DEFAULT`: its `transforms()` and `meta`), also for random weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
import torchvision.models as tvm

from cnnlens.core.handle import LoadedModel
from cnnlens.errors import CnnlensError

# Architecture options for building without pretrained weights: no auxiliary heads (their
# training-only outputs), and the architecture's own initialization (no FutureWarning).
_RANDOM_KWARGS = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}


def torchvision_names() -> tuple[str, ...]:
    """Every classification architecture torchvision can build, by name."""
    return tuple(tvm.list_models(module=torchvision.models))


def _weights_path(weights: tvm.WeightsEnum) -> Path:
    """Where torchvision looks for (and downloads) a weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def _fetch_weights(name: str, weights: tvm.WeightsEnum) -> None:
    """Make sure the weights file is in torchvision's cache, or fail with where to put it."""
    path = _weights_path(weights)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(weights.url, str(path), progress=False)
    except OSError as exc:
        raise CnnlensError(
            f"no pretrained weights for {name!r} "
            f"(download failed: {type(exc).__name__}, offline?); "
            f"put {path.name} from {weights.url} at {path}, or load with pretrained=False"
        ) from None


def load_torchvision(name: str, pretrained: bool) -> LoadedModel:
    """Build torchvision's `name` through its `weights=` API; random weights if not `pretrained`.

    Raises:
        CnnlensError: pretrained weights were asked for and cannot be had (offline), with the
            path to put the file at.
    """
    weights = tvm.get_model_weights(name).DEFAULT
    if pretrained:
        _fetch_weights(name, weights)
        net = tvm.get_model(name, weights=weights)
    else:
        net = tvm.get_model(name, weights=None, **_RANDOM_KWARGS.get(name, {}))
    net.eval()
    preset = weights.transforms()
    categories = tuple(weights.meta["categories"])
    return LoadedModel(
        net=net,
        name=name,
        input_size=int(preset.crop_size[0]),
        class_names=categories,
        mean=tuple(preset.mean),
        std=tuple(preset.std),
        heads={"class": slice(0, len(categories))},
        pretrained=pretrained,
    )
