"""Run button, progress bar and Cancel for a widget's expensive call.

The kernel handles widget messages one at a time, so a Cancel click can only arrive while the work
runs elsewhere: `Runner` runs it on a background thread and makes its progress callback raise
`Cancelled` once Cancel was clicked. Tests and headless runs use `background=False` or `wait()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as widgets

from cnnlens.core.progress import Cancelled, Progress
from cnnlens.widgets._base import WRAP, StaleViews, StatusLine


class Runner(widgets.HBox):
    """[Run] [Cancel] [bar]: `start(work, done)` runs `work(progress)`, then `done(result)`.

    While it runs the status says "running…"; an error shows as one red line, a cancel as an
    informational one; `done` only sees finished results. The Run button calls `run` (the widget's
    own start; None: the widget wires the button itself or hides it). A widget that sets `stale`
    (`mark_stale`) has the views it fills marked stale from each start until `done` shows a result
    (so after a cancel or an error too).
    """

    def __init__(
        self,
        status: StatusLine,
        label: str = "Run",
        background: bool = True,
        run: Callable[[], object] | None = None,
    ) -> None:
        self.status = status
        self.label = label
        self.background = background
        self.stale: StaleViews | None = None
        self.again = f"press {label} to run again"  # what the line after a cancel suggests
        fit = {"width": "auto", "min_width": "max-content"}  # a long label is never cut off
        self.run_button = widgets.Button(
            description=label, button_style="primary", icon="play", layout=fit
        )
        self.cancel_button = widgets.Button(
            description="Cancel", icon="stop", disabled=True, layout=fit
        )
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout={"width": "220px"})
        self._cancel = threading.Event()
        self.cancel_button.on_click(lambda _: self._cancel.set())
        self._thread: threading.Thread | None = None
        if run is not None:
            self.run_button.on_click(lambda _: run())
        super().__init__(
            [self.run_button, self.cancel_button, self.bar], layout={"flex_flow": WRAP}
        )

    def mark_stale(
        self,
        views: Sequence[widgets.Image],
        settings: Callable[[], object],
        controls: Iterable[widgets.ValueWidget] = (),
        press: str | None = None,
    ) -> StaleViews:
        """Have `views` marked stale while a run goes, and while the controls move off the result.

        That is, whenever `settings()` (read on each change of a control in `controls`) differs from
        the setting of the result shown. The stale line says to press `press` (the Run button's
        label for None). Returns the marks: the widget calls their `showing(key)` after drawing a
        finished result.
        """
        self.stale = StaleViews(views, self.status, settings, press or self.label)
        for control in controls:
            control.observe(self.stale.check, "value")
        return self.stale

    @property
    def running(self) -> bool:
        """Whether a call is in progress."""
        return self._thread is not None and self._thread.is_alive()

    def start(
        self, work: Callable[[Progress], Any], done: Callable[[Any], None], what: str = ""
    ) -> None:
        """Run `work` with a progress callback, saying "running… `what`" meanwhile.

        In the background unless `background=False`.
        """
        if self.running:
            self.status.show("still running — cancel it first")
            return
        self._cancel.clear()
        self.run_button.disabled, self.cancel_button.disabled = True, False
        self.status.running(what)
        if self.stale is not None:
            self.stale.started()
        if self.background:
            self._thread = threading.Thread(target=self._run, args=(work, done), daemon=True)
            self._thread.start()
        else:
            self._run(work, done)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current call has finished (for tests and headless notebooks)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def cancel(self) -> None:
        """Ask the running call to stop at its next step (what the Cancel button does)."""
        self._cancel.set()

    def _progress(self, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled")
        self.bar.max, self.bar.value = max(total, 1), done

    def _run(self, work: Callable[[Progress], Any], done: Callable[[Any], None]) -> None:
        try:
            result = work(self._progress)
            done(result)
        except Cancelled:
            stale = "" if self.stale is None else " — the picture is partial or earlier (stale)"
            self.status.show(f"⏹ cancelled{stale}; {self.again}")
        except Exception as exc:
            self.status.error(exc)
        finally:
            self.run_button.disabled, self.cancel_button.disabled = False, True
            if self.stale is not None:  # a stopped run's partial picture is marked too
                self.stale.check()
