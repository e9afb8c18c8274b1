"""ImageNet CNNs from torchvision by name: pretrained when the weights can be had, else random."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision.models as tvm

from cnnlens.errors import CnnlensError
from cnnlens.models.handle import LoadedModel

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ZOO = {
    "alexnet": (tvm.alexnet, tvm.AlexNet_Weights.IMAGENET1K_V1),
    "vgg16": (tvm.vgg16, tvm.VGG16_Weights.IMAGENET1K_V1),
    "googlenet": (tvm.googlenet, tvm.GoogLeNet_Weights.IMAGENET1K_V1),
    "resnet18": (tvm.resnet18, tvm.ResNet18_Weights.IMAGENET1K_V1),
}
# Architecture options used when building without pretrained weights.
_RANDOM_KWARGS = {"googlenet": {"aux_logits": False, "init_weights": True}}


def weights_path(weights: tvm.WeightsEnum) -> Path:
    """Where torchvision looks for (and downloads) a weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]


def _fetch_weights(name: str, weights: tvm.WeightsEnum) -> None:
    """Make sure the weights file is in torchvision's cache, or fail with where to put it."""
    path = weights_path(weights)
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
    """Build a torchvision model by name through its `weights=` API; random weights if asked."""
    builder, weights = ZOO[name]
    if pretrained:
        _fetch_weights(name, weights)
        net = builder(weights=weights)
    else:
        net = builder(weights=None, **_RANDOM_KWARGS.get(name, {}))
    net.eval()
    return LoadedModel(
        net=net,
        name=name,
        input_size=224,
        class_names=tuple(weights.meta["categories"]),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        heads={"class": slice(0, 1000)},
        pretrained=pretrained,
    )
