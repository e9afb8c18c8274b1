"""The Run/Cancel/preview widgets of lectures 4 and 6 in a real JupyterLab at a projector's size.

For each lecture, open a copy in JupyterLab at 1280×720, run only its set-up cell and its widget
cell (the lecture's own computations are nbval's business, and would add minutes), then, as an
instructor would: check that every control lies inside the visible width and that no picture is
a broken-image icon; set the most steps, press Render (Invert), wait for a preview picture, press
Cancel and see the cancel reported as information (not an error), set the default steps and run
again to the end; check the layout, the pictures and the absence of errors once more.

Run:  .venv/bin/python -m pytest tests/browser/test_run_widgets.py -m browser -v
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_lecture_in_lab import (
    NOTEBOOK_PANEL,
    STDERR_OUTPUT,
    WIDGET_IMAGE,
    image_srcs,
    open_notebook,
    step,
)

from conftest import projector_checks, run_cell, save_lecture_screenshot

if TYPE_CHECKING:
    from conftest import LabServer

# notebook, the code its widget cell holds, the run button's label, the most steps
LECTURES = [
    ("notebooks/04_activation_maximization.ipynb", "FeatureVisualizer(model", "Render", "512"),
    ("notebooks/06_code_inversion.ipynb", "InversionExplorer(model", "Invert", "600"),
]
CELL_TIMEOUT_MS = 120_000  # the set-up cell loads the model and a few hundred images
WIDGET_TIMEOUT_MS = 30_000


def set_slider(output: Locator, label: str, value: str) -> None:
    """Type `value` into the readout of the slider described by `label`, as a user can."""
    slider = output.locator(".widget-slider").filter(
        has=output.page.locator(".widget-label", has_text=re.compile(rf"^{label}$"))
    )
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.type(value)
    readout.press("Enter")
    expect(readout).to_have_text(value, timeout=WIDGET_TIMEOUT_MS)


def wait_for_new_pictures(images: Locator, before: list[str], what: str) -> list[str]:
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while image_srcs(images) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    after = image_srcs(images)
    assert after != before, f"no picture changed within {WIDGET_TIMEOUT_MS} ms ({what})"
    return after


@pytest.mark.browser
@pytest.mark.parametrize(
    ("notebook", "widget_code", "run_label", "most"), LECTURES, ids=["04", "06"]
)
def test_render_preview_cancel_and_render_again(
    notebook: str,
    widget_code: str,
    run_label: str,
    most: str,
    lab_server: LabServer,
    new_page: Callable[[], Page],
    tmp_path: Path,
) -> None:
    url = lab_server.stage(notebook)
    page = new_page()
    panel = page.locator(NOTEBOOK_PANEL)

    with step(page, tmp_path, "open the notebook"):
        open_notebook(page, url, lab_server, notebook)

    with step(page, tmp_path, "run the set-up cell and the widget cell"):
        run_cell(panel.locator(".jp-CodeCell").first, CELL_TIMEOUT_MS)
        cell = panel.locator(".jp-CodeCell", has_text=widget_code)
        run_cell(cell, CELL_TIMEOUT_MS)
        output = cell.locator(".jp-OutputArea-output")
        run = output.get_by_role("button", name=run_label)
        cancel = output.get_by_role("button", name="Cancel")
        images = output.locator(WIDGET_IMAGE)
        expect(run).to_be_visible(timeout=WIDGET_TIMEOUT_MS)
        expect(images.first).to_have_attribute("src", re.compile(r".+"))

    with step(page, tmp_path, "before the first run: every control visible, no broken picture"):
        projector_checks(page, output)

    with step(page, tmp_path, f"{run_label} with the most steps, see a preview, Cancel"):
        set_slider(output, "steps", most)
        placeholder = image_srcs(images)
        run.click()
        expect(cancel).to_be_enabled(timeout=WIDGET_TIMEOUT_MS)
        partial = wait_for_new_pictures(images, placeholder, "preview while running")
        assert cancel.is_enabled(), f"the run of {most} steps ended before Cancel was pressed"
        cancel.click()
        expect(cancel).to_be_disabled(timeout=WIDGET_TIMEOUT_MS)
        expect(output.locator(".cnnlens-status")).to_contain_text("cancelled")
        expect(output.locator(".cnnlens-error")).to_have_count(0)
        projector_checks(page, output)

    with step(page, tmp_path, f"{run_label} again with the default steps, to the end"):
        set_slider(output, "steps", "64" if most == "512" else "150")  # the defaults
        run.click()
        wait_for_new_pictures(images, partial, "the finished run")
        expect(cancel).to_be_disabled(timeout=WIDGET_TIMEOUT_MS)
        expect(output.locator(".cnnlens-error, .cnnlens-running")).to_have_count(0)
        expect(panel.locator(STDERR_OUTPUT, has_text="Traceback")).to_have_count(0)
        projector_checks(page, output)

    save_lecture_screenshot(page, output, notebook)
