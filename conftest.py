"""Session set-up shared by every test run (unit tests, nbval over notebooks and homework, browser
tests), with or without pytest-xdist's workers (`make test` runs one per core)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pytest

_OWN_CACHE = "_cnnlens_test_cache"


def pytest_configure(config: pytest.Config) -> None:
    """Dataset scans cache on disk: a test session gets a fresh result cache, made once by the
    controlling process and shared by its workers (they inherit the environment; writes are
    atomic), so every worker's notebooks and browser kernels reuse one another's scans."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    cache = tempfile.mkdtemp(prefix="cnnlens-cache-")
    os.environ["CNNLENS_CACHE"] = cache
    setattr(config, _OWN_CACHE, cache)


def pytest_unconfigure(config: pytest.Config) -> None:
    cache = getattr(config, _OWN_CACHE, None)
    if cache:
        shutil.rmtree(cache, ignore_errors=True)


def _rank(item: pytest.Item) -> int:
    """Run order: lectures first (their scans fill the shared cache), then the homework, the slow
    tests, the real-browser tests (they repeat the lectures' scans from the cache: the browser tests
    check the frontend, nbval the computations), and the quick unit tests last to fill the gaps."""
    if item.path.suffix == ".ipynb":
        return 0 if item.path.parent.name == "notebooks" else 1
    if item.get_closest_marker("browser"):
        return 3
    return 2 if item.get_closest_marker("slow") else 4


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the items (see `_rank`; a stable sort keeps each file's order)."""
    items.sort(key=_rank)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With pytest-xdist's workers (`make test` runs `-n auto`), hand out the items in the order
    above, each on its own, except that a notebook's cells share one kernel: one worker runs them
    all, in order. (xdist's own `loadgroup` marks do not reach pytest 9.2's node ids.)"""
    from xdist.scheduler import LoadScopeScheduling

    class NotebookScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path, _, _ = nodeid.partition("::")
            return path if path.endswith(".ipynb") else nodeid

    config.option.loadscopereorder = False
    return NotebookScheduling(config, log)
