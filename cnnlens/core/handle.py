"""The model handle: a network plus what cnnlens cannot guess about it, resolved once per call.

Every public function accepts a `LoadedModel` or a plain `nn.Module`; `_as_handle` turns either
into a `LoadedModel`, so the rest of cnnlens reads one thing: how to normalize [0, 1] images, the
input size, the class names, and which part of the forward's output holds the logits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from weakref import WeakKeyDictionary

import torch
from torch import nn

from cnnlens.core._legacy import legacy_fields
from cnnlens.core._notes import note
from cnnlens.errors import CnnlensError

DEFAULT_INPUT_SIZE = 224  # a plain module's input size unless declared (ImageNet's crop)


@legacy_fields(
    ("net", "name", "input_size", "class_names", "mean", "std", "heads", "concepts", "pretrained")
)
@dataclass(frozen=True)
class LoadedModel:
    """A network and its metadata; every cnnlens method accepts this or a plain `nn.Module`.

    `net` takes images normalized with `mean`/`std`; cnnlens methods take RGB images in [0, 1] and
    normalize them with `normalize`, so a lecture never handles ImageNet statistics by hand. Make
    one with `cnnlens.load`.

    Args:
        net: The network.
        name: A readable name ("shapes", "vgg16", ...).
        input_size: Side of the images it was trained on, in pixels.
        class_names: One name per output (logit).
        mean: Per-channel RGB mean of the normalization, in [0, 1] units.
        std: Per-channel RGB standard deviation of the normalization, in [0, 1] units.
        heads: {head name: slice of the outputs} for multi-head models (ShapeNet: shape, colour,
            texture); empty for one head.
        concepts: Concept names the model knows (the shape world's), if any.
        pretrained: Whether the weights are trained.
        output: Which part of the forward's output holds the logits when it is not one tensor: an
            index into a tuple or list, or a key or attribute name; None takes the only tensor, the
            first element of a tuple, or the "logits" key or attribute.
        color_covariance: Gives the RGB covariance of the training images' pixels, a (3, 3) float
            tensor (feature visualization decorrelates colour by it); None where unknown.
        mean_image: Gives the mean training image at a side of S pixels, a (3, S, S) float tensor
            in [0, 1] (feature visualization's "mean" start); None where unknown.
    """

    net: nn.Module
    name: str
    input_size: int
    class_names: tuple[str, ...]
    _: KW_ONLY
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    heads: Mapping[str, slice] = field(default_factory=dict)
    concepts: tuple[str, ...] = ()
    pretrained: bool = False
    output: int | str | None = None
    color_covariance: Callable[[], torch.Tensor] | None = None
    mean_image: Callable[[int], torch.Tensor] | None = None

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] RGB images to the network's input space.

        Args:
            images: (N, 3, H, W) float tensor in [0, 1].

        Returns:
            (N, 3, H, W) float tensor: (images - mean) / std.
        """
        if self.mean == (0.0, 0.0, 0.0) and self.std == (1.0, 1.0, 1.0):
            return images
        mean = images.new_tensor(self.mean).view(1, 3, 1, 1)
        std = images.new_tensor(self.std).view(1, 3, 1, 1)
        return (images - mean) / std

    def logits(self, output: object) -> torch.Tensor:
        """The logits (N, classes) in what the network's forward returned.

        Raises:
            CnnlensError: the output holds no tensor where `output` points, or several tensors
                and nothing says which is the logits.
        """
        return _logits(output, self.output)

    def head_of(self, class_index: int) -> str:
        """Name of the output head a class index belongs to ("class" for single-head models)."""
        for head, span in self.heads.items():
            if span.start <= class_index < span.stop:
                return head
        return "class"

    def __repr__(self) -> str:
        weights = "trained" if self.pretrained else "random"
        classes = f"{len(self.class_names)} classes" if self.class_names else "unnamed classes"
        size = f"input {self.input_size}px"
        return f"LoadedModel({self.name!r}, {weights} weights, {size}, {classes})"


ModelLike = nn.Module | LoadedModel

_PLAIN: WeakKeyDictionary[nn.Module, LoadedModel] = WeakKeyDictionary()


def _as_handle(model: ModelLike) -> LoadedModel:
    """The handle of `model`: itself, or for a plain `nn.Module` one made (and remembered).

    A made handle has no normalization, a 224-px input and unnamed classes. A torchvision classifier
    passed as a plain module usually expects ImageNet-normalized input: cnnlens says once (a
    warning) that it feeds it [0, 1] images as they are, and how to declare the normalization
    (`cnnlens.load(net, mean=..., std=...)`, or `cnnlens.load(name)`).

    Raises:
        CnnlensError: `model` is neither a module nor a handle.
    """
    if isinstance(model, LoadedModel):
        return model
    if not isinstance(model, nn.Module):
        raise CnnlensError(
            f"expected an nn.Module or cnnlens.load(...) result, got {type(model).__name__}"
        )
    handle = _PLAIN.get(model)
    if handle is None:
        handle = LoadedModel(model, type(model).__name__, DEFAULT_INPUT_SIZE, ())
        _PLAIN[model] = handle
        if type(model).__module__.startswith("torchvision.models"):
            note(
                f"cnnlens feeds this {type(model).__name__} [0, 1] images without ImageNet "
                "normalization; declare it with cnnlens.load(net, mean=..., std=...) "
                "or load it by its torchvision name (e.g. cnnlens.load('resnet50'))"
            )
    return handle


def _tensors(output: object) -> list[tuple[str, torch.Tensor]]:
    """(where, tensor) for each tensor directly inside a tuple, list, mapping or object."""
    if isinstance(output, Mapping):
        items = [(repr(k), v) for k, v in output.items()]
    elif isinstance(output, (tuple, list)):
        items = [(str(i), v) for i, v in enumerate(output)]
    else:
        items = [(k, v) for k, v in vars(output).items()] if hasattr(output, "__dict__") else []
    return [(where, value) for where, value in items if isinstance(value, torch.Tensor)]


def _logits(output: object, which: int | str | None) -> torch.Tensor:
    if which is not None:
        try:
            if isinstance(output, (tuple, list)) or isinstance(which, int):
                value = output[which]  # type: ignore[index]
            elif isinstance(output, Mapping):
                value = output[which]
            else:
                value = getattr(output, which)
        except (IndexError, KeyError, AttributeError, TypeError):
            value = None
        if not isinstance(value, torch.Tensor):
            raise CnnlensError(
                f"the model's output ({type(output).__name__}) has no tensor at {which!r}"
            )
        return value
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    found = _tensors(output)
    if len(found) == 1:
        return found[0][1]
    where = ", ".join(w for w, _ in found) or "none"
    raise CnnlensError(
        f"the model returns a {type(output).__name__} (tensors at: {where}); say which holds "
        "the logits: cnnlens.load(net, output=<index or key>)"
    )
