"""What truncated capture saves: probing an early layer vs. a full forward pass, in one run.

python benchmarks/bench_truncation.py  — vgg16 (random weights) at 224 px and the embedded model.
"""

from __future__ import annotations

import argparse
import time

import torch

import cnnlens


def best_of(fn, repeats: int) -> float:
    """Fastest of `repeats` timed calls after one warm-up (the least disturbed measurement)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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
        probe_s = best_of(lambda layer=layer: cnnlens.capture(model, x, layer), repeats)
        no_trunc_s = best_of(
            lambda layer=layer: cnnlens.capture(model, x, layer, truncate=False), repeats
        )
        print(
            f"  capture {layer:>9}: {1000 * probe_s:7.1f} ms  "
            f"full/probe = {full_s / probe_s:5.1f}x  "
            f"(without truncation {1000 * no_trunc_s:.1f} ms, {no_trunc_s / probe_s:.1f}x slower)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    compare(
        cnnlens.load("vgg16", pretrained=False),
        ["conv2", "conv4", "conv7", "conv13"],
        4,
        args.repeats,
    )
    compare(cnnlens.load("shapes"), ["relu1", "relu2", "relu4_2"], 64, args.repeats)


if __name__ == "__main__":
    main()
