"""Occlusion: ours (many windows per forward) vs. Captum's Occlusion at its default
perturbations_per_eval (one window per forward), same window/stride/fill, in one run.

Prints both times, the speed-up and the largest difference between the two maps (equal output).
python benchmarks/bench_occlusion.py  (needs captum: pip install -e ".[test]")
"""

from __future__ import annotations

import copy

import torch
from captum.attr import Occlusion
from timing import best_of, repeats_from_command_line

import cnnlens
from cnnlens.attribution import occlusion


def compare(model: cnnlens.LoadedModel, size: int, window: int, stride: int, repeats: int) -> None:
    """Time both on one image and check that the maps agree."""
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    net = copy.deepcopy(model.net).eval()
    captum = Occlusion(lambda images: net(model.normalize(images)))
    settings = {"sliding_window_shapes": (3, window, window), "strides": (3, stride, stride)}

    def theirs() -> torch.Tensor:
        with torch.no_grad():
            return captum.attribute(x, baselines=0.5, target=1, **settings)[:, 0]

    def ours() -> torch.Tensor:
        return occlusion(model, x, 1, window=window, stride=stride, baselines=0.5)

    difference = (ours() - theirs()).abs().max().item()
    theirs_s, ours_s = best_of(theirs, repeats), best_of(ours, repeats)
    windows = ((size - window) // stride + 1) ** 2
    print(
        f"{model.name} @ {size}px, {windows} windows of {window}px, stride {stride}: "
        f"captum {1000 * theirs_s:.0f} ms, ours {1000 * ours_s:.0f} ms, "
        f"speed-up {theirs_s / ours_s:.1f}x, max |difference| {difference:.1e}"
    )


def main() -> None:
    repeats = repeats_from_command_line(__doc__)
    torch.manual_seed(0)
    compare(cnnlens.load("shapes"), 64, 8, 4, repeats)
    compare(cnnlens.load("resnet18", pretrained=False), 112, 16, 8, repeats)


if __name__ == "__main__":
    main()
