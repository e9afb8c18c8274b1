"""Stored notebook outputs are what nbval compares on every student's and CI's machine: they must
not hold anything that names the machine that wrote them."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("course/*.ipynb")])


def compared_cells(notebook: Path) -> list[tuple[int, dict]]:
    """(index, cell) of the code cells whose outputs nbval compares (not marked to be ignored)."""
    cells = json.loads(notebook.read_text())["cells"]
    ignored = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")
    return [
        (index, cell)
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        and not any(mark in "".join(cell["source"]) for mark in ignored)
        and not any(
            tag.lower() in ("nbval-ignore-output", "nbval-skip")
            for tag in cell.get("metadata", {}).get("tags", [])
        )
    ]


def stored_text(notebook: Path) -> list[tuple[int, str]]:
    """(cell index, text) of every stored stream and plain-text output nbval compares."""
    found = []
    for index, cell in compared_cells(notebook):
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            found.append((index, "".join(text)))
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_stored_outputs_name_no_path_of_the_machine_that_ran_them(notebook):
    checkout, home = str(ROOT), str(Path.home())
    leaks = [i for i, text in stored_text(notebook) if checkout in text or f"{home}/" in text]
    assert not leaks, f"cells {leaks} of {notebook.name} store a path of this machine"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_stored_outputs_hold_no_warning_or_error_stream(notebook):
    streams = [
        i
        for i, cell in compared_cells(notebook)
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr" or output.get("output_type") == "error"
    ]
    assert not streams, f"cells {streams} of {notebook.name} store stderr or an error"
