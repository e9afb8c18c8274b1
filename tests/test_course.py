"""Homework notebooks: each has its student twin, generated from it and free of solution code."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location(
    "student_notebooks", ROOT / "scripts/student_notebooks.py"
)
student_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student_notebooks)

HOMEWORK = sorted((ROOT / "course").glob("*_homework.ipynb"))


def test_there_is_homework():
    assert HOMEWORK, "course/ has no *_homework.ipynb"


@pytest.mark.parametrize("path", HOMEWORK, ids=lambda p: p.name)
def test_the_student_notebook_is_the_homework_without_solutions(path):
    homework = nbformat.read(path, as_version=4)
    student = nbformat.read(student_notebooks.student_path(path), as_version=4)
    assert student == student_notebooks.student_version(homework), (
        "run scripts/student_notebooks.py"
    )
    solutions = [c for c in homework.cells if student_notebooks.is_solution(c)]
    assert solutions and all(c.source.startswith("# Define") for c in solutions)
    for cell in filter(student_notebooks.is_solution, student.cells):
        lines = cell.source.splitlines()
        assert all(line.startswith("#") for line in lines) and lines[-1] == student_notebooks.STUB
        assert not cell.outputs
    checks = [c for c in student.cells if c.cell_type == "code" and "# check" in c.source]
    assert len(checks) == len(solutions) and all(c.outputs for c in checks)  # expected answers
