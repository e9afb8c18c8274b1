"""Run a notebook's checks and say, task by task, which pass: the student's check command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnnlens.core import CnnlensError

CELL_TIMEOUT_S = 600


@dataclass(frozen=True)
class TaskResult:
    """One check cell's outcome: its task, whether it passed, and the lines to show."""

    task: str
    passed: bool
    lines: tuple[str, ...]


def _nbgrader_flags(cell: dict) -> dict:
    """The cell's nbgrader metadata (empty for a cell nbgrader does not manage)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def _error(cell: dict) -> dict | None:
    return next((out for out in cell.get("outputs", []) if out["output_type"] == "error"), None)


def _printed(cell: dict) -> list[str]:
    text = "".join(out.get("text", "") for out in cell.get("outputs", []) if "text" in out)
    return [line for line in text.splitlines() if line.strip()]


def _task_results(notebook: dict) -> list[TaskResult]:
    """The outcome of each check cell (nbgrader grade cell) of an executed notebook."""
    results, answer = [], None
    for cell in notebook["cells"]:
        flags = _nbgrader_flags(cell)
        if flags.get("solution"):
            answer = cell
        if not flags.get("grade") or cell["cell_type"] != "code":
            continue
        task = flags["grade_id"].replace("-", " ")
        error = _error(cell)
        if error is None:
            results.append(TaskResult(task, True, tuple(_printed(cell))))
            continue
        mine = _error(answer) if answer is not None else None
        if error["ename"] == "CheckFailed":
            line = error["evalue"]
        elif mine is not None and mine["ename"] == "NotImplementedError":
            line = f"✗ {task}: not answered yet (your code cell still raises NotImplementedError)"
        elif mine is not None:
            line = f"✗ {task}: your code raised {mine['ename']}: {mine['evalue']}"
        else:
            line = f"✗ {task}: the check raised {error['ename']}: {error['evalue']}"
        results.append(TaskResult(task, False, (line,)))
    return results


def run_checks(path: Path) -> list[TaskResult]:
    """Execute the notebook in a fresh kernel, in its own folder, and collect its tasks' results.

    The file is not modified; every cell runs even after an error, so each task is reported.
    """
    import nbformat
    from nbclient import NotebookClient

    if not path.is_file():
        raise CnnlensError(f"no notebook at {path}")
    notebook = nbformat.read(path, as_version=4)
    if not any(flags.get("grade") for flags in map(_nbgrader_flags, notebook.cells)):
        raise CnnlensError(f"{path} has no check cells (cells nbgrader grades)")
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    client.execute()
    return _task_results(notebook)


def report(path: Path, results: list[TaskResult]) -> str:
    """What the check command prints: one line per check, then how many tasks pass."""
    passed = sum(result.passed for result in results)
    lines = [f"{path.name}:", *(f"  {line}" for r in results for line in r.lines)]
    return "\n".join([*lines, f"{passed} of {len(results)} tasks pass"])
