"""Benchmark the shape world: generation speed on one thread, concept coverage, label balance.

Run: python benchmarks/bench_shapeworld.py [--images N] [--probe N]
Generation must outpace training (~300 images/s); every concept should cover ≤ ~5% of the pixels
so that Network Dissection can detect it (see notes/shapeworld.md, lesson 2).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cnnlens.data import CONCEPT_NAMES, HEAD_CLASSES, HEADS, ShapeWorld

BATCH = 256


def images_per_second(world: ShapeWorld, n_images: int, masks: bool, repeats: int = 3) -> float:
    """Best-of-`repeats` rate of generating `n_images` in batches of BATCH."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for first in range(0, n_images, BATCH):
            world.batch(first, min(BATCH, n_images - first), masks=masks)
        best = min(best, time.perf_counter() - start)
    return n_images / best


def concept_fractions(world: ShapeWorld, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of all pixels covered by each concept, and label counts per head."""
    covered = np.zeros(len(CONCEPT_NAMES))
    counts = np.zeros((len(HEADS), 6), dtype=np.int64)
    for first in range(0, n_images, BATCH):
        batch = world.batch(first, min(BATCH, n_images - first), masks=True)
        covered += batch.masks.sum(dim=(0, 2, 3)).numpy()
        for head in range(len(HEADS)):
            counts[head] += np.bincount(batch.labels[:, head].numpy(), minlength=6)
    return covered / (n_images * world.size**2), counts


def main() -> None:
    """Print images/s with and without masks, concept pixel fractions and label balance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048, help="images per timing run")
    parser.add_argument("--probe", type=int, default=2000, help="images for concept fractions")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = ShapeWorld(length=max(args.images, args.probe), seed=0, size=64)
    world.batch(0, 64, masks=True)  # warm-up
    for masks in (False, True):
        rate = images_per_second(world, args.images, masks)
        print(f"generation, 64 px, 1 thread, masks={masks!s:5}: {rate:7.0f} images/s")

    fractions, counts = concept_fractions(world, args.probe)
    print(f"\nconcept pixel fractions over {args.probe} images (target ≤ ~5% each):")
    for name, fraction in zip(CONCEPT_NAMES, fractions, strict=True):
        print(f"  {name:18} {100 * fraction:5.2f}%")
    print(f"  max {100 * fractions.max():.2f}%, min {100 * fractions.min():.2f}%")

    print(f"\nlabel balance over {args.probe} images (expected {args.probe / 6:.0f} each):")
    for head, row in zip(HEADS, counts, strict=True):
        cells = ", ".join(f"{c}={n}" for c, n in zip(HEAD_CLASSES[head], row, strict=True))
        print(f"  {head:8} {cells}")


if __name__ == "__main__":
    main()
