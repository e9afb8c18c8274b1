"""A fast working copy of a network, for loops that run it hundreds of times (the render).

The copy shares every weight and buffer with the user's model, so nothing there is duplicated or
changed. Three rewrites make it cheaper to run on CPU:

- eval-mode BatchNorm is folded into the convolution that feeds it, so the pair costs one
  convolution; the fused convolution sits at the BatchNorm's path (reading it gives the
  normalized value, up to rounding) and the convolution's own path becomes an identity;
- convolution weights are kept channels-last, so oneDNN's convolutions and max-pooling work on
  channels-last tensors (max-pooling the shape world's first map is 11× faster that way);
- a convolution where the forward stops, and of whose output only a few channels are read (a
  channel objective), computes just those channels: one of conv4_3's 512 costs 1/512 of it.

All need the module graph: a model torch.fx cannot trace is used as it is, and one that calls
`.view` (which a channels-last tensor may refuse) keeps the default memory format. The user's
hooks come along in the copy, and a module carrying one is never folded away or subset.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


@dataclass(frozen=True)
class GraphFacts:
    """What the render's rewrites need from a network's torch.fx graph: the (conv, BatchNorm)
    pairs where the conv feeds only that BatchNorm and each is called once per forward, and
    whether the forward calls `.view` anywhere."""

    pairs: tuple[tuple[str, str], ...]
    views: bool


# Traced once per network (and again if its modules change): tracing patches nn.Module.__call__
# for every thread while it runs, so a widget's background render should not do it each time.
_FACTS: WeakKeyDictionary[nn.Module, tuple[tuple, GraphFacts | None]] = WeakKeyDictionary()


def graph_facts(net: nn.Module) -> GraphFacts | None:
    """The conv→BatchNorm pairs and `.view` use of `net`, or None when torch.fx cannot trace it."""
    signature = tuple((name, type(module)) for name, module in net.named_modules())
    cached = _FACTS.get(net)
    if cached is not None and cached[0] == signature:
        return cached[1]
    try:
        graph = fx.symbolic_trace(net).graph
    except Exception:  # data-dependent control flow and the like: the model runs as it is
        facts = None
    else:
        facts = GraphFacts(_conv_norm_pairs(net, graph), _calls_view(graph))
    _FACTS[net] = (signature, facts)
    return facts


def _calls_view(graph: fx.Graph) -> bool:
    return any(node.op == "call_method" and node.target == "view" for node in graph.nodes)


def _conv_norm_pairs(net: nn.Module, graph: fx.Graph) -> tuple[tuple[str, str], ...]:
    modules = dict(net.named_modules())
    calls = Counter(node.target for node in graph.nodes if node.op == "call_module")
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], nn.Conv2d):
            continue
        users = list(node.users)
        if len(users) == 1 and users[0].op == "call_module":
            conv, norm = node.target, users[0].target
            if isinstance(modules[norm], nn.BatchNorm2d) and calls[conv] == calls[norm] == 1:
                pairs.append((conv, norm))
    return tuple(pairs)


def _hooked(module: nn.Module) -> bool:
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return any(getattr(module, name, None) for name in hooks)


def _foldable(net: nn.Module, conv: str, norm: str, keep: Collection[str]) -> bool:
    """Whether the pair may be folded: BN statistics exist, neither module carries a hook, and
    nobody reads the conv's own output."""
    conv_module, norm_module = net.get_submodule(conv), net.get_submodule(norm)
    return (
        norm_module.running_mean is not None
        and conv not in keep
        and not _hooked(conv_module)
        and not _hooked(norm_module)
    )


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
    facts = graph_facts(net)
    if facts is None:
        return net, torch.contiguous_format
    shared = {id(t): t for t in itertools.chain(net.parameters(), net.buffers())}
    working = copy.deepcopy(net, memo=shared).eval()
    for conv, norm in [pair for pair in facts.pairs if _foldable(working, *pair, keep)]:
        fused = fuse_conv_bn_eval(working.get_submodule(conv), working.get_submodule(norm))
        _replace(working, norm, fused)
        _replace(working, conv, nn.Identity())
    for path, channels in (only or {}).items():
        _replace(working, path, _subset(working.get_submodule(path), channels))
    if facts.views:
        return working, torch.contiguous_format
    for module in working.modules():
        if isinstance(module, nn.Conv2d):  # a new tensor on the copy; the user's stays as it is
            weight = module.weight.detach().contiguous(memory_format=torch.channels_last)
            module.weight = nn.Parameter(weight, requires_grad=False)
    return working, torch.channels_last
