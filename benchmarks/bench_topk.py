"""Top-k scan throughput vs. the truncated-forward floor, in one run (target: ≥ 0.8).

floor: images/s of a plain Sequential forward through just the layers up to the scanned one,
over the same in-memory images and batch size; scan: `top_examples` (hooks, per-image maxima,
top-k merge, running mean), cache off. A third line scans the shape world generated on the fly
(generation overlapped with the forward by a background thread).
python benchmarks/bench_topk.py — the embedded model, then vgg16 (random weights) at 224 px.
"""

from __future__ import annotations

import torch
from bench_truncation import prefix_chain
from timing import best_of, repeats_from_command_line

import cnnlens
from cnnlens.data import ShapeWorld
from cnnlens.stimuli import top_examples


def compare(model: cnnlens.LoadedModel, layer: str, images: int, batch: int, repeats: int) -> None:
    """Print floor and scan images/s and their ratio."""
    size = model.input_size
    x = torch.rand(images, 3, size, size, generator=torch.Generator().manual_seed(0))
    chain = prefix_chain(model, cnnlens.resolve_layer(model, layer))

    def floor() -> None:
        with torch.no_grad():
            for start in range(0, images, batch):
                chain(model.normalize(x[start : start + batch]))

    def scan() -> None:
        top_examples(model, layer, images=x, k=9, batch_size=batch, cache=False)

    floor_s, scan_s = best_of(floor, repeats), best_of(scan, repeats)
    print(
        f"{model.name} {layer} @ {size}px, {images} images, batch {batch}: "
        f"floor {images / floor_s:7.1f} img/s  scan {images / scan_s:7.1f} img/s  "
        f"scan/floor {floor_s / scan_s:4.2f}"
    )
    if model.name == "shapes":
        world = ShapeWorld(length=images, seed=1, size=size)
        live_s = best_of(
            lambda: top_examples(model, layer, images=world, k=9, batch_size=batch, cache=False),
            repeats,
        )
        print(
            f"  same scan over the shape world generated on the fly: {images / live_s:7.1f} img/s"
            f"  (vs floor {floor_s / live_s:4.2f})"
        )


def main() -> None:
    repeats = repeats_from_command_line(__doc__)
    torch.manual_seed(0)
    shapes = cnnlens.load("shapes")
    for layer in ("relu2", "relu4_2"):
        compare(shapes, layer, images=2048, batch=128, repeats=repeats)
    compare(cnnlens.load("vgg16", pretrained=False), "features.29", 32, 16, max(1, repeats // 2))


if __name__ == "__main__":
    main()
