"""What the backprop engine costs against plain autograd, in one run.

plain: x.requires_grad_(); net(x)[:, c].sum().backward() — what a user writes (parameters get
gradients too). floor: torch.autograd.grad of the same score w.r.t. the input only, parameters
frozen. The engine adds validation, the guard and the ReLU-rule mode; target: <= 1.15x plain.
python benchmarks/bench_backprop.py
"""

from __future__ import annotations

import copy

import torch
from timing import best_of, repeats_from_command_line

import cnnlens
from cnnlens.attribution import guided_backprop, input_gradient


def compare(model: cnnlens.LoadedModel, batch: int, repeats: int) -> None:
    """Print ours/plain and ours/floor for the gradient and guided rules."""
    size = model.input_size
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    net = copy.deepcopy(model.net).eval()  # the plain variant writes parameter grads

    def plain() -> None:
        image = x.clone().requires_grad_(True)
        net(model.normalize(image))[:, 1].sum().backward()
        net.zero_grad(set_to_none=True)

    frozen = copy.deepcopy(net).requires_grad_(False)

    def floor() -> None:
        image = x.clone().requires_grad_(True)
        torch.autograd.grad(frozen(model.normalize(image))[:, 1].sum(), image)

    plain_s, floor_s = best_of(plain, repeats), best_of(floor, repeats)
    print(
        f"{model.name} @ {size}px, batch {batch}: plain {1000 * plain_s:.1f} ms, "
        f"input-only floor {1000 * floor_s:.1f} ms"
    )
    for name, method in [("gradient", input_gradient), ("guided", guided_backprop)]:
        ours_s = best_of(lambda method=method: method(model, x, 1), repeats)
        print(
            f"  {name:8s} {1000 * ours_s:7.1f} ms  ours/plain {ours_s / plain_s:4.2f}  "
            f"ours/floor {ours_s / floor_s:4.2f}"
        )


def main() -> None:
    repeats = repeats_from_command_line(__doc__)
    torch.manual_seed(0)
    compare(cnnlens.load("shapes"), 64, repeats)
    compare(cnnlens.load("resnet18", pretrained=False), 4, repeats)
    compare(cnnlens.load("vgg16", pretrained=False), 2, repeats)


if __name__ == "__main__":
    main()
