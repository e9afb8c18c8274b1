"""A fast working copy of a network, for loops that run it hundreds of times (the render).

The copy shares every weight and buffer with the user's model, so nothing there is duplicated or
changed. Two rewrites make it cheaper to run on CPU:

- eval-mode BatchNorm is folded into the convolution that feeds it, so the pair costs one
  convolution; the fused convolution sits at the BatchNorm's path (reading it gives the
  normalized value, up to rounding) and the convolution's own path becomes an identity;
- convolution weights are kept channels-last, so oneDNN's convolutions and max-pooling work on
  channels-last tensors (max-pooling the shape world's first map is 11× faster that way);
- a convolution where the forward stops, and of whose output only a few channels are read (a
  channel objective), computes just those channels: one of conv4_3's 512 costs 1/512 of it.

Both need the module graph: a model torch.fx cannot trace is used as it is, and one that calls
`.view` (which a channels-last tensor may refuse) keeps the default memory format. The user's
hooks come along in the copy, and a module carrying one is never folded away or subset.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Collection, Mapping

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _graph(net: nn.Module) -> fx.Graph | None:
    """The module graph of `net`, or None when torch.fx cannot trace it."""
    try:
        return fx.symbolic_trace(net).graph
    except Exception:  # data-dependent control flow and the like: the model runs as it is
        return None


def _hooked(module: nn.Module) -> bool:
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return any(getattr(module, name, None) for name in hooks)


def _foldable_pairs(
    net: nn.Module, graph: fx.Graph, keep: Collection[str]
) -> list[tuple[str, str]]:
    """(conv, batchnorm) paths where the conv feeds only that BatchNorm, each module is called
    once per forward and carries no hook, and nobody reads the conv's own output."""
    modules = dict(net.named_modules())
    calls = Counter(node.target for node in graph.nodes if node.op == "call_module")
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], nn.Conv2d):
            continue
        users = list(node.users)
        if len(users) != 1 or users[0].op != "call_module":
            continue
        conv, norm = node.target, users[0].target
        if (
            isinstance(modules[norm], nn.BatchNorm2d)
            and modules[norm].running_mean is not None
            and calls[conv] == calls[norm] == 1
            and conv not in keep
            and not _hooked(modules[conv])
            and not _hooked(modules[norm])
        ):
            pairs.append((conv, norm))
    return pairs


class ChannelSubset(nn.Module):
    """A convolution computing only some of its output channels, zeros in the others."""

    def __init__(self, conv: nn.Conv2d, channels: Collection[int]) -> None:
        super().__init__()
        self.out_channels = conv.out_channels
        index = torch.tensor(sorted(channels), device=conv.weight.device)
        self.register_buffer("index", index, persistent=False)
        self.part = nn.Conv2d(
            conv.in_channels,
            len(index),
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        self.part.weight = nn.Parameter(conv.weight.detach()[index], requires_grad=False)
        if conv.bias is not None:
            self.part.bias = nn.Parameter(conv.bias.detach()[index], requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        part = self.part(x)
        full = part.new_zeros(part.shape[0], self.out_channels, *part.shape[2:])
        return full.index_copy(1, self.index, part)


def _subset(module: nn.Module, channels: Collection[int]) -> nn.Module:
    """`module` computing only `channels` when it is a plain convolution and they are in range."""
    if not isinstance(module, nn.Conv2d) or module.groups != 1 or _hooked(module):
        return module
    if not channels or not all(0 <= c < module.out_channels for c in channels):
        return module  # out of range: left for the objective to report in one line
    return ChannelSubset(module, channels)


def _replace(net: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(net.get_submodule(parent), name, module)


def fast_copy(
    net: nn.Module, keep: Collection[str] = (), only: Mapping[str, Collection[int]] | None = None
) -> tuple[nn.Module, torch.memory_format]:
    """An eval-mode copy of `net` sharing its weights, with BatchNorm folded and channels-last
    convolutions where the graph allows; and the memory format to give its inputs in.

    `keep`: module paths whose own outputs will be read (a convolution among them is not folded).
    `only`: {path: channels} for a path where the forward stops and only those channels are read;
    the other channels there come out as zeros.
    """
    graph = _graph(net)
    if graph is None:
        return net, torch.contiguous_format
    shared = {id(t): t for t in itertools.chain(net.parameters(), net.buffers())}
    working = copy.deepcopy(net, memo=shared).eval()
    for conv, norm in _foldable_pairs(working, graph, keep):
        fused = fuse_conv_bn_eval(working.get_submodule(conv), working.get_submodule(norm))
        _replace(working, norm, fused)
        _replace(working, conv, nn.Identity())
    for path, channels in (only or {}).items():
        _replace(working, path, _subset(working.get_submodule(path), channels))
    if any(node.op == "call_method" and node.target == "view" for node in graph.nodes):
        return working, torch.contiguous_format
    for module in working.modules():
        if isinstance(module, nn.Conv2d):  # a new tensor on the copy; the user's stays as it is
            weight = module.weight.detach().contiguous(memory_format=torch.channels_last)
            module.weight = nn.Parameter(weight, requires_grad=False)
    return working, torch.channels_last
