"""The Run/Cancel/progress helper: background work, a cancel that stops it, errors in one line."""

import threading

from cnnlens.core.progress import _steps
from cnnlens.widgets._base import StatusLine
from cnnlens.widgets._runner import Runner


def test_work_runs_reports_progress_and_hands_over_its_result():
    runner, results = Runner(StatusLine(), background=False), []
    runner.start(lambda progress: sum(_steps(range(5), 5, progress)), results.append)
    assert results == [10]
    assert (runner.bar.value, runner.bar.max) == (5, 5)
    assert not runner.run_button.disabled and runner.cancel_button.disabled


def test_cancel_stops_background_work_at_its_next_step():
    status = StatusLine()
    runner, results, started = Runner(status), [], threading.Event()
    release = threading.Event()

    def work(progress):
        for _ in _steps(range(1000), 1000, progress):
            started.set()
            release.wait(5)
        return "finished"

    runner.start(work, results.append)
    started.wait(5)
    assert runner.running and runner.run_button.disabled
    runner.cancel_button.click()
    release.set()
    runner.wait(5)
    assert not runner.running and results == []
    assert not status.is_error and status.text == "⏹ cancelled; press Run to run again"


def test_errors_show_in_the_status_line():
    status = StatusLine()
    runner = Runner(status, background=False)

    def work(_progress):
        raise ValueError("bad knob\nwith details")

    runner.start(work, lambda _: None)
    assert status.text == "⚠ ValueError: bad knob"
