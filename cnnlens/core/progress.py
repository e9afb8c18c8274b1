"""Progress and cancel for long calls: one callback convention shared by every method.

A long method takes `progress: Progress | None`. It calls `progress(done, total)` after each
step; the callback may draw a bar (a widget's Runner does), and may raise `Cancelled` to stop the
call. Without a callback nothing is drawn, so notebook outputs are the same run after run.
Methods hold the model in `preserved(...)`: a stop midway leaves the model exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from cnnlens.errors import CnnlensError

Progress = Callable[[int, int], None]
T = TypeVar("T")


class Cancelled(CnnlensError):
    """Raised by a progress callback to stop a long call (e.g. a widget's Cancel button).

    A `CnnlensError`; the call leaves the model exactly as it was.
    """


def _steps(items: Iterable[T], total: int, progress: Progress | None) -> Iterator[T]:
    """Yield `items`, reporting each finished step to `progress` (if any)."""
    if progress is None:
        yield from items
        return
    done = 0
    progress(done, total)
    for item in items:
        yield item
        done += 1
        progress(done, total)


def _report(progress: Progress | None, done: int, total: int) -> None:
    """Tell `progress` (if any) that `done` of `total` steps are finished.

    No bar otherwise, for calls that are usually quick (a single attribution map).
    """
    if progress is not None:
        progress(done, total)
