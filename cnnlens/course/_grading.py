"""The instructor's side, done by nbgrader: the hand-out without solutions, and grading.

nbgrader works in a course folder of its own (source/, release/, submitted/, autograded/ and a
gradebook database); these functions build one in a temporary folder from the solution notebooks
(course/NN_topic_homework.ipynb), so nothing of nbgrader's layout lives in the repository:

- `write_handout` runs `nbgrader generate_assignment`: solutions become `# YOUR CODE HERE` stubs,
  hidden tests (### BEGIN HIDDEN TESTS) and outputs are removed;
- `grade` runs `nbgrader autograde` on a folder of submissions, offline and without Docker (each
  notebook executes in a local kernel, with the check cells restored from the solutions, hidden
  tests included), and reads each student's score per task from nbgrader's gradebook.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cnnlens.core import CnnlensError

SOLUTION_SUFFIX = "_homework.ipynb"
STUDENT_SUFFIX = "_student.ipynb"
CELL_TIMEOUT_S = 600


def _homework_name(solution: Path) -> str:
    """The nbgrader assignment's name: "03_backprop" for course/03_backprop_homework.ipynb."""
    return solution.name.removesuffix(SOLUTION_SUFFIX)


def solutions(course: Path) -> list[Path]:
    """The solution notebooks of a course folder, in order."""
    found = sorted(course.glob(f"*{SOLUTION_SUFFIX}"))
    if not found:
        raise CnnlensError(f"no *{SOLUTION_SUFFIX} notebooks in {course}")
    return found


def _nbgrader(root: Path, *args: str) -> None:
    """Run one nbgrader command on the course folder `root`; a failure becomes one line."""
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from the PATH
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    errors = [line for line in done.stderr.splitlines() if "| ERROR]" in line]
    if done.returncode or errors:
        last = (errors or done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CnnlensError(f"nbgrader {args[0]} failed: {last}")


@contextmanager
def _course_folder(course: Path, names: list[str]) -> Iterator[Path]:
    """A temporary nbgrader course folder whose assignments are the named homework, generated."""
    with tempfile.TemporaryDirectory(prefix="cnnlens-course-") as scratch:
        root = Path(scratch)
        for name in names:
            source = root / "source" / name
            source.mkdir(parents=True)
            shutil.copy(course / f"{name}{SOLUTION_SUFFIX}", source / f"{name}{STUDENT_SUFFIX}")
        _nbgrader(root, "generate_assignment", "*", "--force")
        yield root


def write_handout(course: Path, out: Path) -> list[Path]:
    """Write each homework's student notebook into `out`, which holds no solution afterwards."""
    names = [_homework_name(path) for path in solutions(course)]
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.ipynb"):
        stale.unlink()
    written = []
    with _course_folder(course, names) as root:
        for name in names:
            target = out / f"{name}{STUDENT_SUFFIX}"
            notebook = nbformat.read(root / "release" / name / target.name, as_version=4)
            for cell in notebook.cells:
                cell.metadata.pop("execution", None)  # when the instructor ran it
            nbformat.write(notebook, target)
            written.append(target)
    return written


@dataclass(frozen=True)
class Grade:
    """One student's score on one task of one homework."""

    student: str
    homework: str
    task: str
    score: float
    max_score: float


def _submissions(folder: Path, known: set[str]) -> dict[str, list[Path]]:
    """{homework: [submitted notebooks]} from folder/STUDENT/NN_topic_student.ipynb."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob(f"*/*{STUDENT_SUFFIX}")):
        name = path.name.removesuffix(STUDENT_SUFFIX)
        if name not in known:
            raise CnnlensError(f"{path}: the course has no homework {name!r}")
        found.setdefault(name, []).append(path)
    if not found:
        raise CnnlensError(f"no submissions in {folder}: expected STUDENT/NN_topic{STUDENT_SUFFIX}")
    return found


def grade(course: Path, submitted: Path) -> list[Grade]:
    """Autograde every submission in `submitted` (one folder per student) with nbgrader."""
    from nbgrader.api import Gradebook

    known = {_homework_name(path) for path in solutions(course)}
    by_homework = _submissions(submitted, known)
    with _course_folder(course, sorted(by_homework)) as root:
        for name, paths in by_homework.items():
            for path in paths:
                target = root / "submitted" / path.parent.name / name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
        _nbgrader(root, "autograde", "*", "--create", f"--Execute.timeout={CELL_TIMEOUT_S}")
        grades = []
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
            for name, paths in sorted(by_homework.items()):
                for path in paths:
                    student = path.parent.name
                    notebook = path.name.removesuffix(".ipynb")
                    found = gradebook.find_submission_notebook(notebook, name, student)
                    for cell in sorted(found.grades, key=lambda cell: cell.name):
                        task = cell.name.replace("-", " ")
                        score = float(cell.score)
                        grades.append(Grade(student, name, task, score, float(cell.max_score)))
    return grades


def write_csv(grades: list[Grade], out: Path) -> None:
    """One row per student, homework and task: student,homework,task,score,max_score."""
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "homework", "task", "score", "max_score"])
        for g in grades:
            writer.writerow([g.student, g.homework, g.task, f"{g.score:g}", f"{g.max_score:g}"])
