"""Homework in students' hands: the hand-out (nbgrader's student versions, no solutions in it), the
student's check command, which a saved wrong answer cannot fool, and the instructor's grading."""

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cnnlens.course._grading import STUDENT_SUFFIX, write_handout
from cnnlens.course._run import _nbgrader_flags
from cnnlens.course.checks import _answers, _describe

ROOT = Path(__file__).resolve().parent.parent
HOMEWORK = sorted((ROOT / "course").glob("*_homework.ipynb"))
HANDOUT = ROOT / "course" / "handout"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

# For each homework, a wrong answer to one task, written as a student would; the other tasks are
# left unanswered, so only the setup cell and the checks run.
WRONG = {
    "01_filters": (4, 'favourite_colours = ["red"] * 5'),
    "02_optimal_stimuli": (2, "rows = list(range(27, 38))"),
    "03_backprop": (2, 'share = {"guided": 0.99, "gradient": 0.01}'),
    "04_activation_maximization": (2, 'kept = {"robust": (0.5, 0.5), "plain": (0.84, 0.53)}'),
    "05_attribution": (3, 'hits = {"Grad-CAM": 0.5, "CAM": 0.74, "saliency": 0.68}'),
    "06_code_inversion": (1, "errors = torch.zeros(6)"),
    "07_feature_space": (2, 'by_layer = {layer: [0.5, 0.5, 0.5] for layer in ["relu2", "relu3"]}'),
    "08_network_dissection": (1, "threshold, iou = 5.949, 0.5"),
}
GRADED = "03_backprop"  # the homework the grading test grades: three tasks, quick to run
# Right on the visible check's four inputs, wrong on others: only the hidden test catches it.
RULES_RIGHT_ONLY_WHERE_SHOWN = """def gradient_rule(x, g):
    return g * (x > 0)


def deconvnet_rule(x, g):
    return g.clamp(min=0)


def guided_rule(x, g):
    return g.clamp(min=0) * (x > 0.1)"""


def name_of(homework: Path) -> str:
    return homework.name.removesuffix("_homework.ipynb")


def test_there_is_homework_and_a_wrong_answer_for_each():
    assert HOMEWORK and set(WRONG) == set(map(name_of, HOMEWORK))


def solution_code(cell) -> str:
    """What a student writes in a solution cell: the code between nbgrader's markers."""
    lines = cell.source.splitlines()
    start, end = lines.index("### BEGIN SOLUTION"), lines.index("### END SOLUTION")
    return "\n".join(lines[start + 1 : end])


def student_notebook(name: str, code_for: dict[int, str]) -> nbformat.NotebookNode:
    """The hand-out notebook with these tasks answered ({task: code}), the rest untouched."""
    notebook = nbformat.read(HANDOUT / f"{name}{STUDENT_SUFFIX}", as_version=4)
    for cell in notebook.cells:
        grade_id = _nbgrader_flags(cell).get("grade_id", "")
        task = int(grade_id.removeprefix("solution-")) if grade_id.startswith("solution-") else 0
        if task in code_for:
            assert cell.source.endswith(STUB)
            cell.source = cell.source.replace(STUB, code_for[task])
    return notebook


def solved(name: str) -> dict[int, str]:
    """Every task of a homework answered with its solution."""
    notebook = nbformat.read(ROOT / "course" / f"{name}_homework.ipynb", as_version=4)
    cells = [cell for cell in notebook.cells if _nbgrader_flags(cell).get("solution")]
    return {task: solution_code(cell) for task, cell in enumerate(cells, start=1)}


def student_check(path: Path) -> subprocess.CompletedProcess:
    """The student's command, as course/README.md gives it."""
    command = [sys.executable, "-m", "cnnlens.course", "check", path.name]
    return subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_the_handout_is_what_nbgrader_makes_of_the_solutions(tmp_path):
    written = write_handout(ROOT / "course", tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in HANDOUT.glob("*.ipynb"))
    for path in written:
        fresh = nbformat.read(path, as_version=4)
        assert fresh == nbformat.read(HANDOUT / path.name, as_version=4), (
            "run `make handout` after changing a homework"
        )


@pytest.mark.parametrize("homework", HOMEWORK, ids=name_of)
def test_the_handout_holds_no_solutions_and_no_hidden_tests(homework):
    assert not list(HANDOUT.glob("*_homework*"))
    source = nbformat.read(homework, as_version=4)
    student_path = HANDOUT / f"{name_of(homework)}{STUDENT_SUFFIX}"
    student = nbformat.read(student_path, as_version=4)
    text = student_path.read_text(encoding="utf-8")
    assert "_homework.ipynb" not in text and "BEGIN SOLUTION" not in text
    assert "HIDDEN TESTS" not in text
    solutions = [c for c in source.cells if _nbgrader_flags(c).get("solution")]
    stubs = [c for c in student.cells if _nbgrader_flags(c).get("solution")]
    assert len(stubs) == len(solutions) > 0
    handed_out = {line.strip() for cell in student.cells for line in cell.source.splitlines()}
    for solution, stub in zip(solutions, stubs, strict=True):
        assert stub.source.endswith(STUB) and stub.source.startswith("# Define")
        # Short lines (")", "with torch.no_grad():") also occur in the setup and check cells.
        code = {line.strip() for line in solution_code(solution).splitlines()}
        assert not {line for line in code if len(line) >= 25} & handed_out
    checks = [c for c in student.cells if _nbgrader_flags(c).get("grade")]
    assert len(checks) == len(stubs) and not any(c.get("outputs") for c in student.cells)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_saved_wrong_answer_fails_the_check_naming_its_task(name, tmp_path):
    task, wrong = WRONG[name]
    notebook = student_notebook(name, {task: wrong})
    # Run All in JupyterLab, then save: the stored outputs are now those of the wrong answer.
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=600, allow_errors=True, resources=resources).execute()
    path = tmp_path / f"{name}{STUDENT_SUFFIX}"
    nbformat.write(notebook, path)
    done = student_check(path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"✗ task {task}: " in done.stdout
    assert "tasks pass" in done.stdout.splitlines()[-1]


@pytest.mark.slow
def test_the_check_command_passes_every_task_of_a_right_answer(tmp_path):
    path = tmp_path / f"{GRADED}{STUDENT_SUFFIX}"
    nbformat.write(student_notebook(GRADED, solved(GRADED)), path)
    done = student_check(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "3 of 3 tasks pass"
    share = _answers()[GRADED]["2"]
    expected = _describe(share["expected"], share["tol"])
    assert f"  ✓ task 2: {share['title']} ({expected})" in done.stdout


@pytest.mark.slow
def test_an_instructor_grades_a_folder_of_submissions_offline_in_one_command(tmp_path):
    task, wrong = WRONG[GRADED]
    submissions = {
        "ada": solved(GRADED),  # right
        "ben": {**solved(GRADED), task: wrong},  # one wrong answer
        "cyd": {},  # unfinished: handed in as handed out
        "dan": {1: RULES_RIGHT_ONLY_WHERE_SHOWN},  # passes task 1's visible check, not the hidden
    }
    for student, answered in submissions.items():
        (tmp_path / "in" / student).mkdir(parents=True)
        path = tmp_path / "in" / student / f"{GRADED}{STUDENT_SUFFIX}"
        nbformat.write(student_notebook(GRADED, answered), path)
    out = tmp_path / "grades.csv"
    command = [sys.executable, "-m", "cnnlens.course", "grade", str(tmp_path / "in")]
    command += ["--course", str(ROOT / "course"), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    scores = {(r["student"], r["task"]): float(r["score"]) for r in rows}
    assert {r["homework"] for r in rows} == {GRADED}
    assert {r["max_score"] for r in rows} == {"1"}
    assert scores == {
        **{("ada", f"task {t}"): 1.0 for t in (1, 2, 3)},
        **{("ben", f"task {t}"): float(t != task) for t in (1, 2, 3)},
        **{("cyd", f"task {t}"): 0.0 for t in (1, 2, 3)},
        **{("dan", f"task {t}"): 0.0 for t in (1, 2, 3)},
    }
    assert "ada" in done.stdout and "3 / 3" in done.stdout
