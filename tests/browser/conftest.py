"""Fixtures for the real-browser tests: a throwaway JupyterLab server and Debian Chromium.

The server runs from this interpreter's environment (the venv) on 127.0.0.1 with a free port
and a random token. Its root is a temporary folder holding COPIES of the notebook folders under
test (JupyterLab autosaves, so the tracked notebooks must never be opened in place). Its
settings, workspaces, runtime, config and data dirs are all temporary too, so nothing from the
user's ~/.jupyter leaks in and nothing is left behind.

Chromium is Debian's /usr/bin/chromium, driven by Playwright's sync API (never run
`playwright install`: there is no internet). Install it with `scripts/ensure-chromium`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
SERVER_READY_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 10.0

# JupyterLab user settings written into the server's private settings dir.
LAB_SETTINGS = {
    # No "Would you like to receive official Jupyter news?" toast, no update check.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Render every cell in the DOM (no virtual scrolling), so locators see all outputs.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
COPY_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
# Pages open at a projector's size: what the back row sees must fit in it.
PROJECTOR = {"width": 1280, "height": 720}
# Set to a folder to keep a screenshot of each lecture's driven widget there, named after its
# notebook: `CNNLENS_SCREENSHOTS=docs` rewrites the README's pictures.
SCREENSHOT_ENV = "CNNLENS_SCREENSHOTS"
CONTROLS = (
    "button, input, select, textarea, .widget-slider, .widget-dropdown, .widget-checkbox, "
    ".widget-toggle-button, .widget-readout"
)
# Each visible control whose box reaches past the visible width (the viewport or the output
# area, whichever ends first), or that an ancestor clips: "label (left..right px)".
CONTROLS_OUTSIDE_JS = """
([output, selector]) => {
    const right = Math.min(window.innerWidth, output.getBoundingClientRect().right);
    const left = Math.max(0, output.getBoundingClientRect().left);
    const clipped = el => {
        const box = el.getBoundingClientRect();
        for (let a = el.parentElement; a && a !== output; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (style.overflowX === 'visible') continue;
            const clip = a.getBoundingClientRect();
            if (box.left < clip.left - 1 || box.right > clip.right + 1) return true;
        }
        return false;
    };
    return Array.from(output.querySelectorAll(selector))
        .filter(el => el.offsetParent !== null)
        .filter(el => {
            const box = el.getBoundingClientRect();
            return box.width > 0 && (box.left < left - 1 || box.right > right + 1 || clipped(el));
        })
        .map(el => {
            const box = el.getBoundingClientRect();
            const text = (el.innerText || el.getAttribute('aria-label') || el.className || '');
            const span = `${Math.round(box.left)}..${Math.round(box.right)} px`;
            return `${text.trim().slice(0, 40)} (${span})`;
        });
}
"""
# Images that finished loading without a picture: the browser's broken-image icon.
BROKEN_IMAGES_JS = """
output => Array.from(output.querySelectorAll('img'))
    .filter(img => img.complete && img.naturalWidth === 0)
    .map(img => (img.getAttribute('src') || '<no src>').slice(0, 60))
"""


def chromium_missing_message() -> str:
    return (
        f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
        "Run `scripts/ensure-chromium` (as root; it apt-get installs `chromium`). "
        "Do NOT run `playwright install` (no internet)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, n_chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n_chars:]
    except OSError as exc:
        return f"<could not read {path}: {exc}>"


@dataclass
class LabServer:
    """A running JupyterLab; `stage()` copies a repository notebook into its root."""

    root: Path
    port: int
    token: str
    log: Path
    proc: subprocess.Popen = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0) -> bytes:
        req = urllib.request.Request(
            f"{self.base_url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()

    def stage(self, notebook: str) -> str:
        """Copy the folder of `notebook` (a repo-relative path) under the server root.

        The folder is copied whole (once), so notebooks keep their relative data paths.
        Returns the URL to open the copy in JupyterLab with a fresh workspace.
        """
        src = REPO_ROOT / notebook
        assert src.is_file(), f"notebook under test not found: {src}"
        rel = src.relative_to(REPO_ROOT)
        dest_dir = self.root / rel.parent
        if not (dest_dir / rel.name).exists():
            shutil.copytree(src.parent, dest_dir, ignore=COPY_IGNORE, dirs_exist_ok=True)
        return f"{self.base_url}/lab/tree/{rel.as_posix()}?reset&token={self.token}"

    def wait_kernel_connected(self, notebook: str, timeout_s: float) -> None:
        """Wait until the notebook's kernel is idle and a browser websocket is attached.

        The notebook toolbar's execution indicator says "idle" even before any kernel exists
        (while the session is still "Initializing"); running cells then pops up a "Select
        Kernel" dialog. The server's session list is the reliable signal.
        """
        path = Path(notebook).as_posix()
        deadline = time.monotonic() + timeout_s
        kernel: dict = {}
        while time.monotonic() < deadline:
            try:
                sessions = json.loads(self.api("/api/sessions"))
            except (OSError, ValueError):
                sessions = []
            kernel = next((s.get("kernel") or {} for s in sessions if s.get("path") == path), {})
            if kernel.get("execution_state") == "idle" and kernel.get("connections", 0) >= 1:
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"kernel for {path} not idle+connected after {timeout_s:.0f} s "
            f"(last kernel model: {kernel or 'no session'}); server log {self.log}:\n"
            f"{_tail(self.log, 2000)}"
        )

    def stop(self) -> None:
        """Stop the server, its kernels and its process group. Never raises."""
        # Kernels run in their own sessions (jupyter_client starts them with setsid), so
        # killing the server's process group alone could orphan them: note them first.
        try:
            descendants = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        if self.proc.poll() is None:
            # Graceful: the server shuts its kernels down, then exits.
            with contextlib.suppress(OSError):
                self.api("/api/shutdown", method="POST", timeout=3.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5.0)
        # Leftovers in the server's process group or among its former children.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(descendants, timeout=5.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5.0)


def _start_lab(base: Path) -> LabServer:
    root, settings, workspaces = base / "root", base / "settings", base / "workspaces"
    runtime, config, data = base / "runtime", base / "config", base / "data"
    for path in (root, settings, workspaces, runtime, config, data):
        path.mkdir(parents=True)
    for rel, values in LAB_SETTINGS.items():
        target = settings / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2))

    port, token = _free_port(), secrets.token_hex(24)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(data),
        "IPYTHONDIR": str(base / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        # Lecture notebooks import cnnlens even when it is not installed in the venv.
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    env.pop("JUPYTER_TOKEN", None)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
    ]
    log = base / "jupyterlab.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: teardown kills the whole group
        )
    server = LabServer(root=root, port=port, token=token, log=log, proc=proc)

    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            server.stop()
            pytest.fail(
                f"jupyter lab exited early (rc={proc.returncode}); log {log}:\n{_tail(log)}"
            )
        try:
            json.loads(server.api("/api/status", timeout=2.0))
            return server
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(
                f"jupyter lab not ready after {SERVER_READY_TIMEOUT_S:.0f} s; "
                f"log {log}:\n{_tail(log)}"
            )
        time.sleep(0.25)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server serving temporary copies of the notebooks under test."""
    server = _start_lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian Chromium launched through Playwright (sync API); use `new_page` in tests."""
    if not CHROMIUM.is_file():
        pytest.fail(chromium_missing_message())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=60_000,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(request: pytest.FixtureRequest) -> Iterator[Callable[[], Page]]:
    """A factory for a fresh browser context + page, closed at teardown.

    The Chromium check runs when the TEST calls the factory, so a missing browser is a test
    failure with instructions (not a setup error, and never a skip).
    """
    contexts = []

    def _new_page() -> Page:
        if not CHROMIUM.is_file():
            pytest.fail(chromium_missing_message())
        browser = request.getfixturevalue("chromium_browser")
        context = browser.new_context(viewport=PROJECTOR)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    try:
        yield _new_page
    finally:
        for context in contexts:
            context.close()


def run_cell(cell: Locator, timeout_ms: float) -> None:
    """Run one code cell (select it, Ctrl+Enter) and wait until its prompt shows a number."""
    cell.locator(".jp-InputPrompt").click()
    cell.page.keyboard.press("Control+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(
        re.compile(r"^\s*\[\d+\]:\s*$"), timeout=timeout_ms
    )


def projector_checks(page: Page, output: Locator) -> None:
    """Fail if a control of `output` lies outside the visible width, or a picture is broken."""
    handle = output.element_handle()
    outside = page.evaluate(CONTROLS_OUTSIDE_JS, [handle, CONTROLS])
    assert outside == [], (
        f"controls outside the visible {page.viewport_size['width']} px: {outside}"
    )
    page.wait_for_function(
        "output => Array.from(output.querySelectorAll('img')).every(img => img.complete)",
        arg=handle,
    )
    broken = page.evaluate(BROKEN_IMAGES_JS, handle)
    assert broken == [], f"broken-image icons: {broken}"


def save_lecture_screenshot(page: Page, output: Locator, notebook: str) -> None:
    """With $CNNLENS_SCREENSHOTS set, save the window (1280×720) scrolled to the widget."""
    folder = os.environ.get(SCREENSHOT_ENV)
    if folder:
        # A picture still being computed would show a half-updated widget: wait for the kernel
        # to be idle and every widget's status line to stop saying "running…".
        idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
        expect(page.locator(idle).first).to_be_visible(timeout=60_000)
        expect(output.locator(".cnnlens-running")).to_have_count(0, timeout=60_000)
        page.evaluate("output => output.scrollIntoView({block: 'start'})", output.element_handle())
        page.wait_for_timeout(500)  # the last image message to render
        page.screenshot(path=str(Path(folder) / f"{Path(notebook).stem}.png"))
