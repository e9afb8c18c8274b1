"""The README's Python examples run as written, in order, in one namespace, with every 0.x call form
an error: what a new user copies works and uses today's API."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from torch import nn

from cnnlens.widgets import default_size, set_default_size

README = Path(__file__).resolve().parent.parent / "README.md"


def examples() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def four_class_net() -> nn.Module:
    """The README's "your nn.Module": 32-px images, four classes, logits first in a tuple."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(self.features(x).flatten(1)), x.mean()

    return Net()


def test_the_readme_has_examples_for_every_lecture_family():
    code = "\n".join(examples())
    for name in ("capture", "grad_cam", "top_examples", "render", "invert", "dissect", "load("):
        assert name in code


@pytest.mark.slow
def test_every_readme_example_runs_with_the_current_api(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the export example writes slides/
    namespace: dict[str, object] = {"net": four_class_net()}
    size = default_size()  # the projector example sets it for the process: restored below
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            for number, code in enumerate(examples(), start=1):
                try:
                    exec(compile(code, f"README.md example {number}", "exec"), namespace)
                except Exception as error:
                    raise AssertionError(f"README example {number} failed: {error!r}") from error
    finally:
        set_default_size(size)
    assert sorted(p.name for p in (tmp_path / "slides").iterdir())
