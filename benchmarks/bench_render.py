"""Activation maximization: our render vs. torch-lucent's render_vis, same objective, steps, image
size, batch, parameterization (Fourier, decorrelated colour) and transforms, in one run; then
the cost of one of our steps vs. a bare truncated forward + backward on the same batch.

Prints images/s for both and the speed-up, on the embedded model (64 px) and on VGG16 with random
weights (128 px), for an early and a deep layer: our speed comes from stopping the forward at the
objective's layer, computing only the objective's channel there and input gradients only (plus a
faster copy of the network: BatchNorm folded, channels-last, see featurevis.fastcopy), so it grows
the earlier the layer. For scale it also prints the multiply-adds of the convolutions and linear
layers each step needs, ours vs. lucent's (full forward, input and weight gradients): at deep
layers that ratio bounds the speed-up unless one side computes faster per multiply-add.
Lucent is optional (CI lacks it): install it in a throwaway environment, e.g.
  python -m venv /tmp/lucentenv && echo "$(.venv/bin/python -c 'import site;
  print(site.getsitepackages()[0])')" > /tmp/lucentenv/lib/python3.11/site-packages/main.pth
  /tmp/lucentenv/bin/pip install torch-lucent --no-deps && /tmp/lucentenv/bin/pip install
  decorator future "kornia==0.5.11"   # lucent pins kornia<=0.4.1; 0.5.11 still has its API
and run PYTHONPATH=. /tmp/lucentenv/bin/python benchmarks/bench_render.py
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable

import numpy as np
import torch
from timing import repeats_from_command_line

import cnnlens
from cnnlens.core.capture import _forward_pass
from cnnlens.core.guard import preserved
from cnnlens.featurevis import channel, jitter, pad, render, resize, rotate, scale
from cnnlens.featurevis.transforms import compose

try:
    from lucent.optvis import param as lucent_param
    from lucent.optvis import render as lucent_render
    from lucent.optvis import transform as lucent_transform
except ImportError:
    lucent_render = None


def our_transforms(size: int) -> list:
    """Lucent's standard_transforms, amount for amount (pad 12, jitter 8, scale ±10%, rotate
    ±10°, jitter 4), then its resize back to the image size (render_vis's fixed_image_size)."""
    return [pad(12), jitter(8), scale(0.1), rotate(10.0), jitter(4), resize(size)]


def interleaved_best(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Fastest time of each call over `repeats` rounds that run every call once, in turn: on a
    shared machine a burst of load then slows one round of all, not one contender's block."""
    for call in calls.values():  # warm-up
        call()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def lucent_call(model: cnnlens.LoadedModel, layer: str, size: int, batch: int, steps: int):
    """render_vis on a private copy of the network (it leaves hooks and parameter gradients)."""
    net = copy.deepcopy(model.net).eval()
    objective = f"{layer.replace('.', '_')}:0"

    def run() -> None:
        lucent_render.render_vis(
            net,
            objective,
            param_f=lambda: lucent_param.image(size, batch=batch),
            transforms=list(lucent_transform.standard_transforms),
            thresholds=(steps,),
            preprocess=model.name != "shapes",  # ImageNet normalization for VGG, none for ours
            progress=False,
            show_image=False,
            fixed_image_size=size,
        )
        for module in net.modules():  # drop the hooks render_vis leaves, so calls stay equal
            module._forward_hooks.clear()

    return run


def bare_call(model: cnnlens.LoadedModel, layer: str, size: int, batch: int):
    """One truncated forward + input-gradient backward of the objective, on a batch transformed
    like a render step's: what a render step cannot do without."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=generator)
    x = compose(our_transforms(size))(x, generator).requires_grad_(True)

    def run() -> None:
        with _forward_pass(model, [layer], grad=True) as forward:
            forward(x)
            torch.autograd.grad(forward.recorded[layer][:, 0].mean(), x)

    return run


def multiply_adds(model: cnnlens.LoadedModel, layer: str, size: int) -> tuple[float, float]:
    """Multiply-adds per image of one step, (ours, lucent's): we run forward and input-gradient
    passes up to one channel of `layer` (of the convolution feeding it); lucent runs forward,
    input- and weight-gradient passes of the whole network."""
    order: list[tuple[str, int, int]] = []  # (path, multiply-adds, output channels) as run

    def count(path: str):
        def hook(module: torch.nn.Module, _inputs, output: torch.Tensor) -> None:
            weight = getattr(module, "weight", None)
            weighted = isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
            per_output = weight[0].numel() if weighted else 0
            order.append((path, output.numel() * per_output, output.shape[1]))

        return hook

    with preserved(model.net) as guard, torch.no_grad():
        for path, module in model.net.named_modules():
            if not list(module.children()):
                guard.hook(module.register_forward_hook(count(path)))
        model.net(torch.zeros(1, 3, size, size))
    upto = order[: [path for path, _, _ in order].index(layer) + 1]
    last = max(i for i, (_, work, _) in enumerate(upto) if work)
    ours = sum(work for _, work, _ in upto[:last]) + upto[last][1] / upto[last][2]
    return 2 * ours, 3 * sum(work for _, work, _ in order)


def compare(
    model: cnnlens.LoadedModel, layer: str, size: int, batch: int, steps: int, repeats: int
) -> None:
    """Print images/s for both renders (same settings) and our step's cost vs. the bare pass."""
    settings = {
        "steps": steps,
        "input_size": size,
        "count": batch,
        "transforms": our_transforms(size),
    }
    calls = {
        "ours": lambda: render(model, channel(layer, 0), **settings),
        "bare": bare_call(model, layer, size, batch),
    }
    if lucent_render is not None:
        calls["lucent"] = lucent_call(model, layer, size, batch, steps)
    best = interleaved_best(calls, repeats)
    ours = batch * steps / best["ours"]
    header = f"{model.name} @ {size}px, {layer}:0, batch {batch}, {steps} steps"
    if lucent_render is None:
        print(
            f"{header}: ours {ours:.1f} images/s; torch-lucent absent (see this file's docstring)"
        )
    else:
        theirs = batch * steps / best["lucent"]
        print(
            f"{header}: lucent {theirs:.1f} images/s, ours {ours:.1f} images/s, "
            f"speed-up {ours / theirs:.1f}x"
        )
    ours_work, lucent_work = multiply_adds(model, layer, size)
    print(
        f"  multiply-adds per image and step: ours {ours_work / 1e9:.3f} G, lucent "
        f"{lucent_work / 1e9:.3f} G, ratio {lucent_work / ours_work:.1f}"
    )
    per_step = best["ours"] / (steps + 1)  # the render ends with one more forward, to measure
    print(
        f"  one render step {1000 * per_step:.1f} ms vs. bare truncated forward + backward "
        f"{1000 * best['bare']:.1f} ms: {per_step / best['bare']:.2f}x"
    )


def main() -> None:
    repeats = repeats_from_command_line(__doc__)
    torch.manual_seed(0)
    np.random.seed(0)  # lucent's transforms draw from numpy
    random.seed(0)
    shapes, vgg = cnnlens.load("shapes"), cnnlens.load("vgg16", pretrained=False)
    for layer in ("bn1", "bn2", "bn4_2"):  # the earlier the layer, the more truncation saves
        compare(shapes, layer, 64, batch=4, steps=32, repeats=repeats)
    for layer in ("features.7", "features.14", "features.21"):  # conv2_2, conv3_3, conv4_3
        compare(vgg, layer, 128, batch=2, steps=8, repeats=repeats)


if __name__ == "__main__":
    main()
