"""Ctrl-C anywhere: the model is exactly as before and the next call is right.

Interrupts are injected deterministically (with `sys.settrace`) at every line a call executes in
the core's view, guard, graph-reading and capture code, and at random moments by real SIGINT
signals from a timer thread.
"""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from torch import fx, nn

import cnnlens
from cnnlens.attribution import grad_cam, guided_backprop
from cnnlens.core import _layout, _recording
from cnnlens.featurevis import _fastcopy, channel, render
from cnnlens.stimuli import top_examples
from tests.snapshot import assert_unchanged, snapshot

# The paths where a call builds its working view, reads the graph and lets go of its hooks.
CORE = tuple(
    str(Path(cnnlens.__file__).parent / name)
    for name in (
        "core/guard.py",
        "core/_view.py",
        "core/_layout.py",
        "core/capture.py",
        "core/_recording.py",
        "featurevis/_fastcopy.py",
    )
)
X = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def forget_graphs() -> None:
    """Drop what was read from the network's graph, so the next call reads it again."""
    _fastcopy._FACTS.clear()
    _layout._LAYOUTS.clear()
    _recording._CALLS.clear()


class Injector:
    """Raise KeyboardInterrupt at the `at`-th line event in CORE; with at=-1 only record, for
    each distinct source line, the event at which it first runs."""

    def __init__(self, at: int) -> None:
        self.at, self.events = at, 0
        self.first: dict[tuple[str, int], int] = {}

    def __call__(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith(CORE):
            return None
        return self._line

    def _line(self, frame, event, arg):
        if event == "line":
            where = (frame.f_code.co_filename, frame.f_lineno)
            self.first.setdefault(where, self.events)
            self.events += 1
            if self.events - 1 == self.at:
                raise KeyboardInterrupt(f"injected at {where[0]}:{where[1]}")
        return self._line


def _run_traced(call, injector: Injector):
    sys.settrace(injector)
    try:
        return call()
    finally:
        sys.settrace(None)


CALLS = {
    "capture": lambda m: cnnlens.capture(m, X, ["relu2", "relu4_2"])["relu4_2"],
    "guided_backprop": lambda m: guided_backprop(m, X, [0, 1]),
    "grad_cam": lambda m: grad_cam(m, X, "relu4_2", [0, 1]),
    "top_examples": lambda m: top_examples(m, "relu3", images=X, k=1, cache=False).values,
    "render": lambda m: render(m, channel("relu3", [0]), steps=2).images,
}


@pytest.mark.parametrize("name", CALLS)
def test_an_interrupt_at_every_core_line_leaves_the_model_and_the_next_call_right(shapes, name):
    call = CALLS[name]
    net = shapes.net
    net.train()
    hook = net.register_forward_hook(lambda *_: None)
    try:
        expected = call(shapes)
        forget_graphs()  # so the render reads the graph again, under interrupts
        counter = Injector(-1)
        _run_traced(lambda: call(shapes), counter)
        points = sorted(counter.first.values())  # every distinct line, where it first runs
        assert len(points) > 40, len(points)
        before = snapshot(net)
        interrupted = 0
        for at in points:
            forget_graphs()
            with pytest.raises(KeyboardInterrupt):
                _run_traced(lambda: call(shapes), Injector(at))
            interrupted += 1
            assert_unchanged(before, net)
        assert interrupted == len(points)
        assert torch.allclose(call(shapes), expected, atol=1e-6)  # no poisoned cache or state
    finally:
        hook.remove()
        net.eval()


def test_no_call_traces_the_model_with_torch_fx(shapes, monkeypatch):
    """torch.fx patches nn.Module.__call__ for every thread while it traces; cnnlens must not."""

    traced = []

    def refuse(*_, **__):
        traced.append(1)
        raise AssertionError("torch.fx was used")

    monkeypatch.setattr(fx.Tracer, "trace", refuse)
    forget_graphs()
    working, _ = _fastcopy.fast_copy(shapes.net, X)
    render(shapes, channel("relu4_2", [3]), steps=2)
    assert not traced
    assert isinstance(working.bn4_2, nn.Conv2d)  # BatchNorm folded all the same


def _deep_sequential() -> nn.Sequential:
    """1,201 modules: long restore loops, where a real signal lands often."""
    layers: list[nn.Module] = [nn.Conv2d(3, 8, 3, padding=1)]
    for _ in range(400):
        layers += [nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 1)]
    return nn.Sequential(*layers[:-1])


def test_real_sigint_signals_at_random_moments_never_change_the_model(shapes):
    net = _deep_sequential().train()
    next(iter(net.parameters())).requires_grad_(False)
    before = snapshot(net)
    x = torch.rand(1, 3, 16, 16)
    active = [False]  # a plain flag: the handler must take no lock the main thread may hold
    done = threading.Event()

    def handler(signum, frame):  # once per call, while it runs: the checks stay uninterrupted
        if active[0]:
            active[0] = False
            raise KeyboardInterrupt

    def one_call(number: int) -> None:
        try:
            active[0] = True
            if number % 10 == 0:
                forget_graphs()
                render(shapes, channel("relu2", [0]), steps=1)
            else:
                cnnlens.capture(net, x, "600")
        finally:
            active[0] = False

    def sender() -> None:
        rng = random.Random(0)
        while not done.is_set():
            time.sleep(rng.uniform(0.0005, 0.01))
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    calls = interrupts = 0
    deadline = time.monotonic() + 20
    try:
        while calls < 300 and time.monotonic() < deadline:
            calls += 1
            try:  # the interrupt may land anywhere while the flag is up
                one_call(calls)
            except KeyboardInterrupt:
                interrupts += 1
            assert_unchanged(before, net)
            assert nn.Module.__call__ is nn.Module.__dict__["__call__"]
    finally:
        done.set()
        thread.join(5)
        time.sleep(0.1)  # signals still pending reach the (now idle) handler, not Python's own
        signal.signal(signal.SIGINT, previous)
    assert interrupts >= 10, (calls, interrupts)  # the soak did interrupt calls
    assert cnnlens.capture(net, x, "600")["600"].shape == (1, 8, 16, 16)
