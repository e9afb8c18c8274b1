"""One-line notes that a result is not quite what its name promises (guided backprop through
SiLU, a layer that ran several times in one forward): a `CnnlensWarning`, or, inside
`collecting_notes()` on the same thread, a line a widget shows in its status line instead."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from cnnlens.errors import CnnlensWarning

_local = threading.local()


def note(text: str) -> None:
    """Say `text`: to this thread's innermost `collecting_notes()`, else as a CnnlensWarning."""
    sink = getattr(_local, "sink", None)
    if sink is None:
        warnings.warn(text, CnnlensWarning, stacklevel=3)
    elif text not in sink:
        sink.append(text)


@contextmanager
def collecting_notes() -> Iterator[list[str]]:
    """Collect this thread's notes in the yielded list (each once) instead of warning."""
    outer = getattr(_local, "sink", None)
    _local.sink = []
    try:
        yield _local.sink
    finally:
        _local.sink = outer
