"""What the private working view costs: building it vs. one forward pass, in one run.

Every cnnlens call runs on a view of the model (same weights, its own flags and hooks) so that
it never writes the user's model; this prints view/forward per architecture (random weights, one
image at the model's input size) and the modules counted.
python benchmarks/bench_view.py [--repeats N]
"""

from __future__ import annotations

import torch
from timing import best_of, repeats_from_command_line

import cnnlens
from cnnlens.core._view import working_view

NAMES = ("shapes", "resnet50", "densenet121", "efficientnet_v2_s")


def main() -> None:
    repeats = repeats_from_command_line(__doc__)
    for name in NAMES:
        model = cnnlens.load(name, pretrained=False)
        x = torch.rand(1, 3, model.input_size, model.input_size)

        def forward(model: cnnlens.LoadedModel = model, x: torch.Tensor = x) -> None:
            with torch.no_grad():
                model.net(x)

        view = best_of(lambda model=model: working_view(model.net), repeats)
        full = best_of(forward, repeats)
        modules = sum(1 for _ in model.net.modules())
        print(
            f"{name:18s} {modules:4d} modules  view {view * 1e3:6.2f} ms  "
            f"forward {full * 1e3:7.1f} ms  view/forward {view / full:.3f}"
        )


if __name__ == "__main__":
    main()
