"""Progress and cancel for long calls: one callback convention shared by every method.

A long method takes `progress: Progress | None`. It calls `progress(done, total)` after each
step; the callback may draw a bar, and may raise `Cancelled` to stop the call. Methods hold the
model in `preserved(...)`, so a stop midway still leaves the model exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

from cnnlens.errors import CnnlensError

Progress = Callable[[int, int], None]
T = TypeVar("T")


class Cancelled(CnnlensError):
    """Raised by a progress callback to stop a long call (e.g. a widget's Cancel button)."""


def steps(items: Iterable[T], total: int, progress: Progress | None, what: str) -> Iterator[T]:
    """Yield `items`, reporting each finished step to `progress`, or to a tqdm bar when None."""
    if progress is None:
        yield from tqdm(items, total=total, desc=what, leave=False)
        return
    done = 0
    progress(done, total)
    for item in items:
        yield item
        done += 1
        progress(done, total)


def report(progress: Progress | None, done: int, total: int) -> None:
    """Tell `progress` (if any) that `done` of `total` steps are finished; no bar otherwise, for
    calls that are usually quick (a single attribution map)."""
    if progress is not None:
        progress(done, total)
