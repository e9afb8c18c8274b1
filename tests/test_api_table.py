"""docs/api.md, the API at a glance, is what scripts/api_table.py writes now: a renamed,
reordered or new parameter fails here until the table is regenerated
(`.venv/bin/python scripts/api_table.py`)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("api_table", ROOT / "scripts" / "api_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_api_table_is_up_to_date():
    assert (ROOT / "docs" / "api.md").read_text() == _script().table(), (
        "docs/api.md is out of date: run .venv/bin/python scripts/api_table.py"
    )
