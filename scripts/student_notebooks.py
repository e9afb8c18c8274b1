"""Write the student version of each homework: NN_topic_homework.ipynb → NN_topic_student.ipynb
in course/.

A solution cell (tagged "solution") keeps its leading comment lines, which say what to define,
and gets `# YOUR CODE HERE` instead of the code; every other cell stays as it is, outputs included,
so the check cells' stored outputs are the expected answers that nbval compares against.
Run it after re-executing a homework notebook (`make notebooks` does both).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parent.parent / "course"
STUB = "# YOUR CODE HERE"


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return "solution" in cell.get("metadata", {}).get("tags", [])


def student_version(homework: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The homework with each solution's code replaced by a stub."""
    student = copy.deepcopy(homework)
    for cell in filter(is_solution, student.cells):
        lines = cell.source.splitlines()
        code_at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        comments = lines[:code_at]
        cell.source = "\n".join([*comments, STUB])
        cell.outputs, cell.execution_count = [], None
    return student


def student_path(homework: Path) -> Path:
    return homework.with_name(homework.name.replace("_homework.ipynb", "_student.ipynb"))


def main() -> None:
    for homework in sorted(COURSE.glob("*_homework.ipynb")):
        target = student_path(homework)
        nbformat.write(student_version(nbformat.read(homework, as_version=4)), target)
        print(f"wrote {target.relative_to(COURSE.parent)}")


if __name__ == "__main__":
    main()
