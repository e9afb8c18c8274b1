"""A fast working copy of a network, for loops that run it hundreds of times (the render).

The copy is a working view (`core.view`): it shares every weight and buffer with the user's
model, so nothing there is duplicated or changed. Three rewrites make it cheaper to run on CPU:

- eval-mode BatchNorm is folded into the convolution that feeds it, so the pair costs one
  convolution; the fused convolution sits at the BatchNorm's path (reading it gives the
  normalized value, up to rounding) and the convolution's own path becomes an identity;
- convolution weights are kept channels-last, so oneDNN's convolutions and max-pooling work on
  channels-last tensors (max-pooling the shape world's first map is 11× faster that way);
- a convolution where the forward stops, and of whose output only a few channels are read (a
  channel objective), computes just those channels: one of conv4_3's 512 costs 1/512 of it.

Which convolution feeds only its BatchNorm is read from the autograd graph of one forward pass
of an example input, not from a torch.fx trace: a trace patches `nn.Module.__call__` for every
thread while it runs, which would break another thread's forward (a widget beside the user's own
code) and outlive an interrupt. A model that refuses channels-last tensors (a `.view` flatten)
keeps the default memory format (`core.layout`). The user's hooks come along in the copy, and a
module carrying one is never folded away or subset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.graph import Node
from torch.nn.utils.fusion import fuse_conv_bn_eval

from cnnlens.core._layout import input_layout, runs
from cnnlens.core._view import PerNetwork, probing_view, working_view


@dataclass(frozen=True)
class GraphFacts:
    """What the render's rewrites need from a network's forward pass.

    The (conv, BatchNorm) pairs where the conv feeds only that BatchNorm and each runs once per
    forward, and whether the forward accepts images larger than the example (False for a
    fixed-size head: `Flatten → Linear`).
    """

    pairs: tuple[tuple[str, str], ...]
    any_size: bool


_FACTS: PerNetwork[GraphFacts | None] = PerNetwork()


def graph_facts(net: nn.Module, example: torch.Tensor) -> GraphFacts | None:
    """The conv→BatchNorm pairs of `net`, and whether it runs on larger images.

    From one forward of `example` (a normalized input batch, (N, 3, H, W), in the network's
    `input_layout`) on a working view, and one more on larger images; None when the view cannot
    run `example` at all.
    """

    def read() -> GraphFacts | None:
        view = probing_view(net)
        layout = input_layout(net, example)
        try:
            pairs = _conv_norm_pairs(view, example.contiguous(memory_format=layout))
        except Exception:  # the model refuses this input
            return None
        return GraphFacts(pairs, runs(view, F.pad(example, (8, 8, 8, 8))))

    return _FACTS.get(net, example.shape, read)


def _conv_norm_pairs(view: nn.Module, x: torch.Tensor) -> tuple[tuple[str, str], ...]:
    """Pairs whose BatchNorm reads exactly the conv's output, which nothing else reads."""
    watched = {
        path: module
        for path, module in view.named_modules()
        if isinstance(module, (nn.Conv2d, nn.BatchNorm2d))
    }
    calls: Counter[str] = Counter()
    produced: dict[str, Node | None] = {}
    consumed: dict[str, Node | None] = {}

    def watch(path: str) -> Callable[[nn.Module, tuple[Any, ...], Any], None]:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            calls[path] += 1
            if isinstance(module, nn.Conv2d):
                produced[path] = getattr(output, "grad_fn", None)
            else:
                consumed[path] = getattr(args[0], "grad_fn", None) if args else None

        return hook

    handles = [module.register_forward_hook(watch(path)) for path, module in watched.items()]
    try:
        with torch.enable_grad():
            output = view(x.detach().requires_grad_(True))
    finally:
        for handle in handles:
            handle.remove()
    readers = _readers(_grad_fns(output))
    by_node = {node: conv for conv, node in produced.items() if node is not None}
    pairs = []
    for norm, node in consumed.items():
        if node is None:  # the BatchNorm's input has no graph
            continue
        conv = by_node.get(node)
        if conv is not None and readers[node] == 1 and calls[conv] == calls[norm] == 1:
            pairs.append((conv, norm))
    return tuple(pairs)


def _grad_fns(output: object) -> Iterator[Node]:
    """The autograd nodes of every tensor in a model's output (a tensor, tuple, list or dict)."""
    if isinstance(output, torch.Tensor):
        if output.grad_fn is not None:
            yield output.grad_fn
    elif isinstance(output, Mapping):
        for value in output.values():
            yield from _grad_fns(value)
    elif isinstance(output, (tuple, list)):
        for value in output:
            yield from _grad_fns(value)


def _readers(roots: Iterator[Node]) -> Counter[Node]:
    """How many graph edges lead into each autograd node reachable from `roots`."""
    readers: Counter[Node] = Counter()
    stack = list(roots)
    seen = set(stack)
    while stack:
        for node, _ in stack.pop().next_functions:
            if node is None:
                continue
            readers[node] += 1
            if node not in seen:
                seen.add(node)
                stack.append(node)
    return readers


def _hooked(module: nn.Module) -> bool:
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return any(getattr(module, name, None) for name in hooks)


def _foldable(net: nn.Module, conv: str, norm: str, keep: Collection[str]) -> bool:
    """Whether the pair may be folded.

    BN statistics exist, neither module carries a hook, and nobody reads the conv's own output.
    """
    conv_module, norm_module = net.get_submodule(conv), net.get_submodule(norm)
    return (
        norm_module.running_mean is not None
        and conv not in keep
        and not _hooked(conv_module)
        and not _hooked(norm_module)
    )


_Pair = tuple[int, int]  # a Conv2d's sizes (torch types them as tuples of any length)


class _ChannelSubset(nn.Module):
    """A convolution computing only some of its output channels, zeros in the others."""

    def __init__(self, conv: nn.Conv2d, channels: Collection[int]) -> None:
        super().__init__()
        self.out_channels = conv.out_channels
        index = torch.tensor(sorted(channels), device=conv.weight.device)
        self.register_buffer("index", index, persistent=False)
        self.part = nn.Conv2d(
            conv.in_channels,
            len(index),
            cast(_Pair, conv.kernel_size),
            cast(_Pair, conv.stride),
            cast("str | _Pair", conv.padding),
            cast(_Pair, conv.dilation),
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        self.part.weight = nn.Parameter(conv.weight.detach()[index], requires_grad=False)
        if conv.bias is not None:
            self.part.bias = nn.Parameter(conv.bias.detach()[index], requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution of (N, C, H, W) `x` for the kept channels only, zeros elsewhere."""
        part = self.part(x)
        full = part.new_zeros(part.shape[0], self.out_channels, *part.shape[2:])
        return full.index_copy(1, self.index, part)


def _subset(module: nn.Module, channels: Collection[int]) -> nn.Module:
    """`module` computing only `channels` when it is a plain convolution and they are in range."""
    if not isinstance(module, nn.Conv2d) or module.groups != 1 or _hooked(module):
        return module
    if not channels or not all(0 <= c < module.out_channels for c in channels):
        return module  # out of range: left for the objective to report in one line
    return _ChannelSubset(module, channels)


def _replace(net: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(net.get_submodule(parent), name, module)


def fast_copy(
    net: nn.Module,
    example: torch.Tensor,
    keep: Collection[str] = (),
    only: Mapping[str, Collection[int]] | None = None,
) -> tuple[nn.Module, torch.memory_format]:
    """An eval-mode working view of `net` rewritten to run fast, and its inputs' memory format.

    BatchNorm folded, channels-last convolutions and channel subsets where the forward pass allows.

    Args:
        net: The user's network (only read).
        example: A normalized input batch (N, 3, H, W) like the ones the copy will run.
        keep: Module paths whose own outputs will be read (a convolution among them is not folded).
        only: {path: channels} for a path where the forward stops and only those channels are read;
            the other channels there come out as zeros.

    Returns:
        (copy, memory format).
    """
    working = working_view(net)
    facts = graph_facts(net, example)
    if facts is None:
        return working, torch.contiguous_format
    for conv, norm in [pair for pair in facts.pairs if _foldable(working, *pair, keep)]:
        conv_module = cast(nn.Conv2d, working.get_submodule(conv))  # the pairs' own classes
        fused = fuse_conv_bn_eval(conv_module, cast(nn.BatchNorm2d, working.get_submodule(norm)))
        _replace(working, norm, fused)
        _replace(working, conv, nn.Identity())
    for path, channels in (only or {}).items():
        _replace(working, path, _subset(working.get_submodule(path), channels))
    if input_layout(net, example) != torch.channels_last:
        return working, torch.contiguous_format
    for module in working.modules():
        if isinstance(module, nn.Conv2d):  # a new tensor on the copy; the user's stays as it is
            weight = module.weight.detach().contiguous(memory_format=torch.channels_last)
            module.weight = nn.Parameter(weight, requires_grad=False)
    return working, torch.channels_last
