"""Run a lecture notebook in a real JupyterLab + Chromium and drive its first slider.

For each notebook in NOTEBOOKS: open a temporary copy in JupyterLab, Run All Cells from the
Run menu, check that no output holds a Python traceback, then press ArrowRight on the first
ipywidgets slider and check that the slider's readout and the widget's output image change
(i.e. the kernel callback ran and the frontend re-rendered the image). Pages are 1280×720 (a
projector): every control of the widget must lie inside the visible width, and no picture may be
a broken-image icon. With CNNLENS_SCREENSHOTS=docs the window is saved as docs/<notebook>.png.

Run:  .venv/bin/python -m pytest tests/browser -m browser -v
Needs /usr/bin/chromium: run `scripts/ensure-chromium` first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect

from conftest import projector_checks, save_lecture_screenshot

if TYPE_CHECKING:
    from conftest import LabServer

# Notebooks to run in JupyterLab, relative to the repository root.
NOTEBOOKS = [
    "notebooks/01_filters_and_feature_maps.ipynb",
    "notebooks/02_optimal_stimuli.ipynb",
    "notebooks/03_deconvnet_guided_backprop.ipynb",
    "notebooks/05_saliency_cam_occlusion.ipynb",
    "notebooks/07_feature_space.ipynb",
    "notebooks/08_network_dissection.ipynb",
]

KERNEL_IDLE_TIMEOUT_MS = 60_000  # kernel start
RUN_ALL_TIMEOUT_MS = 480_000  # all cells of one notebook; lecture 2 took 169 s at load 9
WIDGET_TIMEOUT_MS = 15_000  # slider render, readout and image update

NOTEBOOK_PANEL = ".jp-NotebookPanel:visible"
KERNEL_NAME = "[data-jp-item-name='kernelName']"
IDLE_INDICATOR = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
STDERR_OUTPUT = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
SLIDER = ".widget-slider"
SLIDER_HANDLE = ".noUi-handle"
SLIDER_READOUT = ".widget-readout"
# Output images of widgets (ipywidgets.Image renders <img class="widget-image">).
WIDGET_IMAGE = "img.widget-image, .jupyter-widgets img"

# True once every code cell of the panel shows "[<n>]:" as its prompt, or once nothing is
# queued any more and an error is shown (Run All stops at the first failing cell).
RUN_ALL_DONE_JS = """
panel => {
    const prompts = Array.from(panel.querySelectorAll('.jp-CodeCell')).map(cell => {
        const prompt = cell.querySelector('.jp-InputPrompt');
        return prompt === null ? '' : prompt.textContent.trim();
    });
    if (prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p))) return true;
    const errors = panel.querySelectorAll(
        '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]');
    return !prompts.includes('[*]:')
        && Array.from(errors).some(e => e.textContent.includes('Traceback'));
}
"""


@contextmanager
def step(page: Page, shots: Path, name: str) -> Iterator[None]:
    """On failure, save a screenshot and name it in the assertion message."""
    try:
        yield
    except Exception as exc:
        shot = shots / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            where = f"screenshot: {shot}"
        except Exception as shot_exc:
            where = f"(screenshot failed: {shot_exc})"
        raise AssertionError(f"step '{name}' failed: {exc}\n{where}") from exc


def open_notebook(page: Page, url: str, lab_server: LabServer, notebook: str) -> None:
    """Open `url` (a staged notebook) and wait until its kernel is idle and connected."""
    page.goto(url)
    panel = page.locator(NOTEBOOK_PANEL)
    expect(panel).to_have_count(1, timeout=KERNEL_IDLE_TIMEOUT_MS)
    # The indicator is "idle" before a kernel even exists: ask the server first, then
    # wait for the page to show the kernel (name set, status idle).
    lab_server.wait_kernel_connected(notebook, KERNEL_IDLE_TIMEOUT_MS / 1000)
    expect(panel.locator(KERNEL_NAME)).not_to_have_text(
        re.compile(r"^\s*(No Kernel)?\s*$"), timeout=KERNEL_IDLE_TIMEOUT_MS
    )
    expect(panel.locator(IDLE_INDICATOR)).to_be_visible(timeout=KERNEL_IDLE_TIMEOUT_MS)
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def image_srcs(images: Locator) -> list[str]:
    return images.evaluate_all("imgs => imgs.map(img => img.getAttribute('src') || '')")


@pytest.mark.browser
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: Path(nb).stem)
def test_notebook_runs_and_slider_updates_image(
    notebook: str,
    lab_server: LabServer,
    new_page: Callable[[], Page],
    tmp_path: Path,
) -> None:
    url = lab_server.stage(notebook)
    page = new_page()  # fails here, with instructions, if /usr/bin/chromium is missing
    panel = page.locator(NOTEBOOK_PANEL)

    with step(page, tmp_path, "open notebook and wait for idle kernel"):
        open_notebook(page, url, lab_server, notebook)

    with step(page, tmp_path, "run all cells"):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_function(
            RUN_ALL_DONE_JS, arg=panel.element_handle(), timeout=RUN_ALL_TIMEOUT_MS
        )
        expect(panel.locator(IDLE_INDICATOR)).to_be_visible(timeout=RUN_ALL_TIMEOUT_MS)

    with step(page, tmp_path, "no traceback in outputs"):
        tracebacks = panel.locator(STDERR_OUTPUT, has_text="Traceback")
        assert tracebacks.count() == 0, "cell output holds a traceback:\n" + "\n---\n".join(
            tracebacks.all_inner_texts()
        )

    with step(page, tmp_path, "find the first slider and its output image"):
        # The widget's output area holds the slider; its images are the ones it drives.
        output = panel.locator(".jp-OutputArea-output", has=page.locator(SLIDER)).first
        slider = output.locator(SLIDER).first
        handle = slider.locator(SLIDER_HANDLE)
        readout = slider.locator(SLIDER_READOUT)
        expect(handle).to_be_visible(timeout=WIDGET_TIMEOUT_MS)
        images = output.locator(WIDGET_IMAGE)
        expect(images.first).to_have_attribute("src", re.compile(r".+"), timeout=WIDGET_TIMEOUT_MS)
        before_srcs = image_srcs(images)
        before_readout = readout.inner_text()

    with step(page, tmp_path, "press ArrowRight on the slider and wait for a new image"):
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        handle.press("ArrowLeft" if at_max else "ArrowRight")
        expect(readout).not_to_have_text(before_readout, timeout=WIDGET_TIMEOUT_MS)
        deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
        while image_srcs(images) == before_srcs and time.monotonic() < deadline:
            time.sleep(0.1)
        after_srcs = image_srcs(images)
        assert after_srcs != before_srcs, (
            f"no widget image changed within {WIDGET_TIMEOUT_MS} ms after moving the slider "
            f"(readout {before_readout!r} -> {readout.inner_text()!r}); srcs: {before_srcs}"
        )

    with step(page, tmp_path, "no traceback after the slider moved"):
        expect(panel.locator(STDERR_OUTPUT, has_text="Traceback")).to_have_count(0)

    with step(page, tmp_path, "every control inside the visible width, no broken picture"):
        projector_checks(page, output)
    save_lecture_screenshot(page, output, notebook)
