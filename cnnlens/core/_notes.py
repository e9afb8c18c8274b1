"""One-line notes that a result is not quite what its name promises.

For example guided backprop through SiLU, or a layer that ran several times in one forward: a
`CnnlensWarning`, or, inside `collecting_notes()` on the same thread, a line a widget shows in its
status line instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import torch

from cnnlens.errors import CnnlensWarning

_local = threading.local()
# Frames skipped when locating the user's line: cnnlens itself; torch, whose module-call
# machinery sits between a forward hook that notes something and cnnlens's call that ran it; and
# contextlib, between a cnnlens context manager's body (`forward_pass`) and the call entering it.
_SKIPPED = (
    *(
        str(folder) + os.sep
        for folder in (Path(__file__).resolve().parents[1], Path(torch.__file__).resolve().parent)
    ),
    contextlib.__file__,
)


def _caller_level() -> int:
    """`stacklevel` of the first frame outside cnnlens and torch.

    That frame is the user's line that made the call.
    """
    frame: FrameType | None = sys._getframe(2)  # the frame that called note()
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_SKIPPED):
        frame, level = frame.f_back, level + 1
    return level


def note(text: str) -> None:
    """Say `text`: to this thread's innermost `collecting_notes()`, else as a CnnlensWarning.

    The warning is located at the user's line that called into cnnlens (never at a file inside the
    package).
    """
    sink = getattr(_local, "sink", None)
    if sink is None:
        warnings.warn(text, CnnlensWarning, stacklevel=_caller_level())
    elif text not in sink:
        sink.append(text)


def deprecated(text: str) -> None:
    """Say `text` about a 0.x call form as a FutureWarning located at the user's line.

    A FutureWarning is shown to notebook users, unlike a DeprecationWarning.
    """
    warnings.warn(text, FutureWarning, stacklevel=_caller_level())


@contextmanager
def collecting_notes() -> Iterator[list[str]]:
    """Collect this thread's notes in the yielded list (each once) instead of warning.

    Yields:
        The list the notes are added to.
    """
    outer = getattr(_local, "sink", None)
    _local.sink = []
    try:
        yield _local.sink
    finally:
        _local.sink = outer
