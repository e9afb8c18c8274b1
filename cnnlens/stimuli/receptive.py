"""Receptive fields: which input pixels a unit of a layer can see.

For a chain of layers (VGG, AlexNet, ShapeNet) the field follows from each module's kernel, stride,
padding and dilation. Where branches join (GoogLeNet, ResNet) arithmetic along "the" path is
ambiguous, so the field is measured instead: the support of the gradient of one central unit.
"""

from __future__ import annotations

import weakref
from dataclasses import KW_ONLY, dataclass

import torch
from torch import nn

from cnnlens.core._legacy import legacy_calls, legacy_fields
from cnnlens.core._recording import forward_until_done, recording
from cnnlens.core.guard import preserved
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike, as_net, resolve_layer
from cnnlens.errors import CnnlensError

# Modules that treat every spatial position on its own: they leave the field unchanged.
POINTWISE = (
    nn.BatchNorm2d,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.GELU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
    nn.LocalResponseNorm,
)
WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
MEASURE_SIZES = (64, 128, 256, 512)  # input sizes tried until the measured field fits inside
_KNOWN: weakref.WeakKeyDictionary[nn.Module, dict[tuple, ReceptiveField]] = (
    weakref.WeakKeyDictionary()
)


@legacy_fields(("layer", "size", "stride", "start", "measured"))
@dataclass(frozen=True)
class ReceptiveField:
    """Which input pixels the units of a layer see.

    Unit (y, x) of the layer sees rows `start + stride*y ... + size - 1` (same for columns).

    Attributes:
        layer: The layer's name.
        size: Side of the field in input pixels.
        stride: Input pixels between neighbouring units.
        start: First input row (and column) of unit (0, 0); negative where padding lets the field
            reach past the image's edge.
        measured: Whether it came from the gradient support rather than the modules' geometry.
    """

    layer: str
    size: int
    stride: int
    start: int
    _: KW_ONLY
    measured: bool = False

    def box(self, y: int, x: int, image_size: int | None = None) -> tuple[int, int, int, int]:
        """The field of unit (y, x) as a box in input pixels.

        Args:
            y: Row of the unit in the layer's map.
            x: Column of the unit in the layer's map.
            image_size: Clip the box to an image of this side, if given.

        Returns:
            (top, left, bottom, right), bottom and right exclusive.
        """
        top, left = self.start + self.stride * y, self.start + self.stride * x
        bottom, right = top + self.size, left + self.size
        if image_size is None:
            return top, left, bottom, right
        return max(top, 0), max(left, 0), min(bottom, image_size), min(right, image_size)

    def center(self, y: int, x: int) -> tuple[float, float]:
        """The field's center in input pixel coordinates, (row, column), for unit (y, x)."""
        half = (self.size - 1) / 2
        return self.start + self.stride * y + half, self.start + self.stride * x + half


@legacy_calls(order=("model", "layer", "input_size"))
def receptive_field(
    model: ModelLike, layer: str, *, input_size: int | None = None
) -> ReceptiveField:
    """Size, stride and start of the units of `layer`: computed for chains, measured otherwise.

    Remembered per network and architecture (its repr names every kernel, stride and padding), so
    browsing units never pays for it twice; a measured field takes seconds on a large network. For
    how much of it a unit really uses, see `empirical_field` and Luo et al., Understanding the
    Effective Receptive Field in Deep Convolutional Neural Networks, NIPS 2016,
    https://proceedings.neurips.cc/paper_files/paper/2016/hash/c8067ad1937f728f51288b3eb986afaa-Abstract.html

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer name with a spatial map, e.g. "conv3".
        input_size: Side in pixels of the input to measure with; None uses the model's.

    Returns:
        The `ReceptiveField`.

    Raises:
        CnnlensError: `layer` is unknown or has no spatial map; a kernel, stride or padding is not
            square; no input pixel reaches the units; the field is larger than can be measured; the
            map keeps its size whatever the input (adaptive pooling), so its units have no fixed
            field.
    """
    net = as_net(model)
    path = resolve_layer(model, layer)
    size = input_size or _as_handle(model).input_size
    known = _KNOWN.setdefault(net, {})
    key = (path, size, repr(net))
    if key not in known:
        chain = _leaf_chain(net, path, size)
        known[key] = _from_geometry(path, chain) if chain is not None else _measured(net, path)
    return known[key]


def _pair(value: int | tuple[int, ...]) -> int:
    """A module's square hyper-parameter; non-square ones cannot be summed up in one number."""
    if isinstance(value, int):
        return value
    if len(set(value)) != 1:
        raise CnnlensError(f"non-square kernel/stride/padding {value} is not supported")
    return value[0]


def _padding_before(padding: str | int | tuple[int, ...], span: int) -> int:
    """Pixels of padding before the image.

    A number, or a Conv2d's "valid" (none) or "same" (`span` − 1 in all, the smaller half before the
    image, as torch pads).
    """
    if padding == "valid":
        return 0
    if padding == "same":
        return (span - 1) // 2
    assert not isinstance(padding, str)  # torch accepts no other string
    return _pair(padding)


def _from_geometry(path: str, chain: list[nn.Module]) -> ReceptiveField:
    size, stride, start = 1, 1, 0
    for module in chain:
        if isinstance(module, WINDOWED):
            kernel = _pair(module.kernel_size)
            dilation = _pair(getattr(module, "dilation", 1))
            span = dilation * (kernel - 1) + 1
            start -= _padding_before(module.padding, span) * stride
            size += (span - 1) * stride
            stride *= _pair(module.stride if module.stride is not None else kernel)
    return ReceptiveField(layer=path, size=size, stride=stride, start=start)


def _leaf_chain(net: nn.Module, path: str, input_size: int) -> list[nn.Module] | None:
    """The leaf modules up to `path` when each one feeds exactly the next, else None.

    A plain chain of known windowed or pointwise modules, each run once; None for branches, joins or
    unknown modules.
    """
    order: list[tuple[nn.Module, torch.Tensor | None, torch.Tensor]] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        order.append((module, inputs[0] if inputs else None, output))

    with preserved(net) as guard, torch.no_grad():
        view = guard.model
        for module in _leaves(view):  # before `recording`, whose hook stops the forward at `path`
            guard.hook(module.register_forward_hook(hook))
        with recording(guard, [path]):
            forward_until_done(view, torch.zeros(1, 3, input_size, input_size, device=_device(net)))
    targets = _leaves(view.get_submodule(path))
    last = max((i for i, (m, _, _) in enumerate(order) if any(m is t for t in targets)), default=-1)
    chain = order[: last + 1]
    modules = [m for m, _, _ in chain]
    if not chain or len({id(m) for m in modules}) != len(modules):
        return None
    chain = [(_fixed_window(module, x, output), x, output) for module, x, output in chain]
    for (module, x, _), (_, _, previous) in zip(chain[1:], chain[:-1], strict=True):
        if not isinstance(module, WINDOWED + POINTWISE) or x is None:
            return None
        if x.data_ptr() != previous.data_ptr():
            return None
    windows = [module for module, _, _ in chain]
    return windows if isinstance(windows[0], WINDOWED + POINTWISE) else None


def _fixed_window(module: nn.Module, x: torch.Tensor | None, output: torch.Tensor) -> nn.Module:
    """An evenly dividing adaptive pooling as a plain pooling; other modules unchanged.

    Its kernel = stride = input / output (VGG's and AlexNet's `avgpool` at 224 px: a 1×1 window);
    any other module, or uneven windows, come back as they are.
    """
    if not isinstance(module, ADAPTIVE) or x is None:
        return module
    (height, width), (rows, columns) = x.shape[-2:], output.shape[-2:]
    if height % rows or width % columns or height // rows != width // columns:
        return module
    kernel = height // rows
    pooling = nn.AvgPool2d if isinstance(module, nn.AdaptiveAvgPool2d) else nn.MaxPool2d
    return pooling(kernel, kernel)


def _leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def _measured(net: nn.Module, path: str) -> ReceptiveField:
    """Gradient support of the central unit, grown until it no longer touches the image edge.

    The support is the union over a few random inputs, so that no ReLU or max-pool choice hides part
    of the field. Raises CnnlensError where the map keeps its size whatever the input size (after
    adaptive pooling): its units have no fixed field.
    """
    for size in MEASURE_SIZES:
        rows, map_size = _support_rows(net, path, size)
        # Doubling the input adds `size / stride` units to the map, whatever the padding.
        grown = _map_size(net, path, 2 * size) - map_size
        if grown == 0:
            raise CnnlensError(
                f"the map of {path!r} is {map_size} units high whatever the input size (adaptive "
                "pooling): its units have no fixed receptive field; use a layer before the pooling"
            )
        if rows[0] > 0 and rows[-1] < size - 1:
            break
    else:
        raise CnnlensError(f"the receptive field of {path!r} exceeds {size} px; cannot measure it")
    stride = round(size / grown)
    return ReceptiveField(
        layer=path,
        size=int(rows[-1] - rows[0] + 1),
        stride=stride,
        start=int(rows[0]) - stride * (map_size // 2),
        measured=True,
    )


def _support_rows(net: nn.Module, path: str, size: int) -> tuple[torch.Tensor, int]:
    """Input rows whose gradient reaches the central unit, and the layer's map height."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, size, size, generator=generator).to(_device(net), _dtype(net))
    x.requires_grad_(True)
    with preserved(net) as guard, recording(guard, [path]) as out:
        forward_until_done(guard.model, x)
        value = out[path]
        if value.dim() != 4:
            raise CnnlensError(f"layer {path!r} has no spatial map; it has no receptive field")
        h, w = value.shape[-2:]
        value[:, :, h // 2, w // 2].sum().backward()
    assert x.grad is not None  # x requires grad and reaches the unit
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3)) > 0).flatten()
    if rows.numel() == 0:
        raise CnnlensError(f"no input pixel reaches the units of {path!r}")
    return rows.cpu(), h


def _map_size(net: nn.Module, path: str, size: int) -> int:
    """Height of the layer's map for a `size`-pixel input (a truncated forward, no gradient)."""
    x = torch.zeros(1, 3, size, size, device=_device(net), dtype=_dtype(net))
    with preserved(net) as guard, torch.no_grad(), recording(guard, [path]) as out:
        forward_until_done(guard.model, x)
    return out[path].shape[-2]


def _dtype(net: nn.Module) -> torch.dtype:
    param = next(net.parameters(), None)
    return torch.float32 if param is None else param.dtype


def _device(net: nn.Module) -> torch.device:
    param = next(net.parameters(), None)
    return torch.device("cpu") if param is None else param.device
