"""What truncated capture saves: probing an early layer vs. a full forward pass, in one run.

full/probe: how much cheaper a capture is than the whole forward pass. floor/probe: a plain
Sequential forward through just the needed layers vs. capture (1.00 = no overhead from hooks,
cloning and checks). untruncated/probe: the same capture with truncation switched off.
python benchmarks/bench_truncation.py — vgg16 (random weights) at 224 px and the embedded model.
"""

from __future__ import annotations

import torch
from timing import best_of, repeats_from_command_line

import cnnlens


def prefix_chain(model: cnnlens.LoadedModel, path: str) -> torch.nn.Module:
    """The plain Sequential of layers up to `path`: the cheapest possible way to compute it."""
    parent_path, _, name = path.rpartition(".")
    parent = model.net.get_submodule(parent_path) if parent_path else model.net
    return torch.nn.Sequential(*list(parent.children())[: list(parent._modules).index(name) + 1])


def compare(model: cnnlens.LoadedModel, layers: list[str], batch: int, repeats: int) -> None:
    """Print the full-forward time and, per layer, capture time and the speed-up."""
    size = model.input_size
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    net = model.net

    def full() -> None:
        with torch.no_grad():
            net(model.normalize(x))

    full_s = best_of(full, repeats)
    print(f"{model.name} @ {size}px, batch {batch}: full forward {1000 * full_s:.1f} ms")
    for layer in layers:
        path = cnnlens.resolve_layer(model, layer)
        chain = prefix_chain(model, path)

        def floor(chain: torch.nn.Module = chain) -> None:
            with torch.no_grad():
                chain(model.normalize(x))

        probe_s = best_of(lambda path=path: cnnlens.capture(model, x, path), repeats)
        floor_s = best_of(floor, repeats)
        untruncated_s = best_of(
            lambda path=path: cnnlens.capture(model, x, path, truncate=False), repeats
        )
        print(
            f"  capture {layer:>8}: {1000 * probe_s:6.1f} ms  full/probe {full_s / probe_s:4.1f}x"
            f"  floor/probe {floor_s / probe_s:4.2f}"
            f"  untruncated/probe {untruncated_s / probe_s:4.1f}x"
        )


def main() -> None:
    repeats = repeats_from_command_line(__doc__)
    torch.manual_seed(0)
    compare(
        cnnlens.load("vgg16", pretrained=False),
        ["conv2", "conv4", "conv7", "conv13"],
        4,
        repeats,
    )
    compare(cnnlens.load("shapes"), ["relu1", "relu2", "relu4_2"], 64, repeats)


if __name__ == "__main__":
    main()
