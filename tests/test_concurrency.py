"""Two cnnlens calls on one model at the same time, and the user's own forward beside them.

A gate — a user hook that holds the first forward of a background thread until released — forces
each overlap: call A stops in the middle of its forward (its hooks registered, its forward
truncated, its flags set), call B runs from start to end in the main thread, the user's model is
checked and run by hand, then A goes on. Both results must equal the same calls made one after
the other, and the model must be exactly as the user left it at every point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import torch

import cnnlens
from cnnlens.attribution import grad_cam, guided_backprop, occlusion
from cnnlens.dissection import ShapeWorldProbe, dissect
from cnnlens.embedding import dataset_features
from cnnlens.featurevis import channel, render
from cnnlens.stimuli import top_examples
from cnnlens.widgets import AttributionExplorer
from tests.snapshot import assert_unchanged, snapshot

X = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def _widget_map(model) -> torch.Tensor:
    """What a lecture does: an attribution explorer computing occlusion in its background
    thread."""
    widget = AttributionExplorer(model, method="occlusion")
    widget.runner.wait(60)
    assert not widget.status.is_error, widget.status.text
    return widget.current


FAMILIES: dict[str, Callable[[cnnlens.LoadedModel], object]] = {
    "capture": lambda m: cnnlens.capture(m, X, "relu4_2")["relu4_2"],
    "attribution": lambda m: (
        guided_backprop(m, X, [0, 1, 2]),
        grad_cam(m, X, "relu4_2", 1),
        occlusion(m, X[:1], 2, window=32, stride=32),
    ),
    "scan": lambda m: (
        top_examples(m, "relu2", images=X, k=2, cache=False).values,
        dataset_features(m, X).values,
    ),
    "render": lambda m: render(m, channel("relu3", [0, 1]), steps=3).images,
    "dissection": lambda m: dissect(m, "relu3", probe=ShapeWorldProbe(length=4)).iou,
    "widget": _widget_map,
}


class Gate:
    """A forward hook that holds the first forward of a non-main thread until `release`."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self._armed = True

    def __call__(self, *_) -> None:
        if self._armed and threading.current_thread() is not threading.main_thread():
            self._armed = False
            self.entered.set()
            assert self.release.wait(120), "the gate was never released"


def _same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.allclose(a, b, atol=1e-5, rtol=1e-5)
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def expected(shapes) -> dict[str, object]:
    """Each family's results, the calls made one at a time."""
    return {name: call(shapes) for name, call in FAMILIES.items()}


@pytest.fixture
def user_state(shapes):
    """The model as a user mid-training leaves it: train mode, one frozen parameter, a hook."""
    net = shapes.net
    params = list(net.parameters())
    net.train()
    params[0].requires_grad_(False)
    calls = []
    hook = net.register_forward_hook(lambda *_: calls.append(1))
    yield calls
    hook.remove()
    params[0].requires_grad_(True)
    net.eval()


@pytest.mark.parametrize("first", FAMILIES)
@pytest.mark.parametrize("second", FAMILIES)
def test_overlapping_calls_give_their_own_results_and_leave_the_model_alone(
    shapes, expected, user_state, first, second
):
    start = snapshot(shapes.net)
    gate = Gate()
    gated = shapes.net.get_submodule("relu2").register_forward_hook(gate)
    before = snapshot(shapes.net)
    results: dict[str, object] = {}

    def run_first() -> None:
        try:
            results["first"] = FAMILIES[first](shapes)
        except BaseException as exc:  # reported below, in the main thread
            results["error"] = exc

    thread = threading.Thread(target=run_first)
    try:
        thread.start()
        assert gate.entered.wait(60), f"{first} never reached relu2"
        assert_unchanged(before, shapes.net)  # A is mid-forward: hooks, flags are the user's
        results["second"] = FAMILIES[second](shapes)
        assert_unchanged(before, shapes.net)
    finally:
        gate.release.set()
        thread.join(120)
        gated.remove()
    assert "error" not in results, repr(results.get("error"))
    assert _same(results["first"], expected[first])
    assert _same(results["second"], expected[second])
    assert_unchanged(start, shapes.net)


def test_the_users_own_forward_sees_its_model_while_a_widget_computes(shapes, user_state):
    net = shapes.net
    net.eval()  # so the user's forward leaves BatchNorm statistics alone
    with torch.no_grad():
        reference = net(X)
    gate = Gate()
    gated = net.get_submodule("relu3").register_forward_hook(gate)
    widget = AttributionExplorer(shapes, method="occlusion")  # computes in its own thread
    try:
        assert gate.entered.wait(60)
        before_calls = len(user_state)
        out = net(X)  # the user's own forward, in the main thread, mid-widget
        assert len(user_state) == before_calls + 1  # the user's hook ran, once
        assert out.requires_grad and not net.training  # as the user left it
        assert all(p.requires_grad for p in list(net.parameters())[1:])
        assert torch.allclose(out.detach(), reference, atol=1e-6)
    finally:
        gate.release.set()
        widget.runner.wait(60)
        gated.remove()
    assert not widget.status.is_error, widget.status.text
    assert widget.current is not None
