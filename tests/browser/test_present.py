"""Presentation mode: `make present` serves a lecture with Voilà, live widgets and no code, offline.

Voilà runs as `make present` runs it (the repository's `presentation/` template folder, template
`cnnlens`) on a temporary copy of lecture 1. The served HTML must reference nothing outside
localhost that a browser would fetch (stylesheets, scripts, images, imports), and Chromium,
recording every request while the lecture's widgets come up, must ask nothing of another host.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from conftest import REPO_ROOT, _free_port, _tail

LECTURE = "notebooks/01_filters_and_feature_maps.ipynb"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
READY_TIMEOUT_S = 120.0
# Attributes and CSS/JS forms through which a page makes the browser fetch a URL.
FETCHED = re.compile(
    r"""(?:\b(?:src|href|srcset|data|poster)\s*=\s*["']?|url\(\s*["']?|import\s*\(?\s*["'])"""
    r"""(https?://[^"')\s>]+)""",
    re.IGNORECASE,
)
SRCS_JS = "imgs => imgs.map(i => i.getAttribute('src') || '')"
BROKEN_IMAGES_JS = "imgs => imgs.filter(i => i.complete && i.naturalWidth === 0).length"


def make_present_command() -> str:
    plan = subprocess.run(
        ["make", "-n", "present", "LECTURE=01"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(line for line in plan.splitlines() if "voila" in line)


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voilà serving a copy of lecture 1 as `make present` does, on a free local port."""
    base = tmp_path_factory.mktemp("voila")
    root = base / "notebooks"
    root.mkdir()
    shutil.copy(REPO_ROOT / LECTURE, root)
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_PATH": str(REPO_ROOT / "presentation"),  # as the make target sets it
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "IPYTHONDIR": str(base / "ipython"),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    command = [sys.executable, "-m", "voila", "--no-browser", "--template=cnnlens"]
    command += ["--Voila.ip=127.0.0.1", f"--port={port}", Path(LECTURE).name]
    log = base / "voila.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while b"is running at" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"voila did not start (rc={proc.poll()}); log:\n{_tail(log)}")
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=5)


def test_make_present_serves_with_the_offline_template() -> None:
    line = make_present_command()
    assert "JUPYTER_PATH=" in line and "/presentation" in line
    assert "--template=cnnlens" in line and "notebooks/01_" in line


@pytest.mark.browser
def test_lecture_served_offline_with_live_widgets_and_no_code(
    voila_url: str, new_page: Callable[[], Page]
) -> None:
    page = new_page()  # one page: Voilà runs the lecture once per request
    page.set_viewport_size({"width": 1280, "height": 720})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(voila_url, timeout=READY_TIMEOUT_S * 1000)
    html = response.text()
    fetched = {url for url in FETCHED.findall(html) if urlparse(url).hostname not in LOCAL_HOSTS}
    assert sorted(fetched) == [], f"the served page fetches from outside localhost: {fetched}"

    slider = page.locator(".widget-slider .noUi-handle").first
    expect(slider).to_be_visible(timeout=READY_TIMEOUT_S * 1000)
    images = page.locator("img.widget-image")
    expect(images.first).to_have_attribute("src", re.compile(r".+"))
    before = images.evaluate_all(SRCS_JS)
    slider.focus()
    slider.press("ArrowRight")  # a live kernel answers: a picture changes
    deadline = time.monotonic() + 30
    while images.evaluate_all(SRCS_JS) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert images.evaluate_all(SRCS_JS) != before, "no widget picture changed: no live kernel?"
    assert images.evaluate_all(BROKEN_IMAGES_JS) == 0, "a broken-image icon is shown"
    assert page.locator(".jp-InputArea-editor, .jp-CodeMirrorEditor").count() == 0, "code shown"
    outside = sorted(
        url
        for url in set(requested)
        if urlparse(url).scheme in ("http", "https") and urlparse(url).hostname not in LOCAL_HOSTS
    )
    assert outside == [], f"the browser fetched from outside localhost: {outside}"
