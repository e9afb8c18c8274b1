"""The course's checks: a value within its tolerance passes with ✓, anything else fails with one
line naming the task, what it got, what it expected and a hint; answers come from answers.json."""

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from cnnlens.course import CheckFailed, check, expect
from cnnlens.course._run import _task_results
from cnnlens.course.checks import _answers

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("course/*_homework.ipynb"))


SHARE = {"guided": 0.63, "gradient": 0.30}
HINT = "divide by the whole map"


def test_a_right_answer_prints_the_expected_value_and_tolerance_not_the_value(capsys):
    value = {"guided": torch.tensor(0.6412), "gradient": np.float32(0.2799)}
    expect("task 2: share of the map on the object", value, SHARE, 0.03, HINT)
    printed = capsys.readouterr().out
    assert printed == (
        "✓ task 2: share of the map on the object (guided 0.63 ± 0.03, gradient 0.30 ± 0.03)\n"
    )


def test_a_wrong_answer_names_the_task_what_it_got_the_expectation_and_a_hint():
    with pytest.raises(CheckFailed) as failure:
        expect("task 2: share", {"guided": 0.99, "gradient": 0.29}, SHARE, 0.03, HINT)
    assert str(failure.value) == (
        "✗ task 2: share: got guided 0.99, expected 0.63 ± 0.03 — hint: divide by the whole map"
    )
    assert isinstance(failure.value, AssertionError)  # graders count it as a failed test


def test_homework_checks_take_the_answer_tolerance_and_hint_from_answers_json(capsys):
    answer = _answers()["03_backprop"]["2"]
    check("03_backprop", 2, answer["expected"])
    assert capsys.readouterr().out.startswith(f"✓ task 2: {answer['title']} (guided ")
    with pytest.raises(CheckFailed, match=r"^✗ task 2: .*got guided 0.99.* — hint: "):
        check("03_backprop", 2, {**answer["expected"], "guided": 0.99})


def test_the_tolerance_is_a_closed_bound():
    expect("x", 0.53, 0.5, tol=0.03 + 1e-12)
    with pytest.raises(CheckFailed, match=re.escape("got 0.54, expected 0.50 ± 0.03")):
        expect("x", 0.54, 0.5, tol=0.03)


@pytest.mark.parametrize(
    "value, expected, tol",
    [
        (1, True, 0.0),  # a boolean is not a number
        (True, 1, 0.0),
        ("ring ", "ring", 0.0),
        ([5, 1, 2], [5, 1], 0.0),
        ({"relu1": 0.5}, {"relu1": 0.5, "relu2": 0.6}, 0.1),
        (7, 6, 0.5),  # a count stays exact under a tolerance below 1
        (None, 0.5, 0.5),
    ],
)
def test_the_wrong_kind_or_shape_of_value_fails(value, expected, tol):
    with pytest.raises(CheckFailed):
        expect("x", value, expected, tol)


def test_tensors_tuples_and_nested_values_compare_as_plain_values(capsys):
    expect("shape", torch.zeros(4, 24, 2, 2).shape, [4, 24, 2, 2])
    expect(
        "nested",
        {"relu2": (torch.tensor(0.801), {"shape": 6})},
        {"relu2": [0.8, {"shape": 6}]},
        0.01,
    )
    with pytest.raises(CheckFailed, match=r"relu2\[1\] shape 5, expected 6"):
        expect("nested", {"relu2": (0.8, {"shape": 5})}, {"relu2": [0.8, {"shape": 6}]}, 0.01)
    assert capsys.readouterr().out.count("✓") == 2


def test_a_dict_of_tolerances_gives_each_key_its_own():
    expect("x", {"reddest": 11, "ratio": 2.04}, {"reddest": 11, "ratio": 2.0}, {"ratio": 0.1})
    with pytest.raises(CheckFailed, match="reddest 12, expected 11"):
        expect("x", {"reddest": 12, "ratio": 2.0}, {"reddest": 11, "ratio": 2.0}, {"ratio": 0.1})


def test_each_check_is_logged_at_full_precision_when_asked(tmp_path, monkeypatch, capsys):
    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv("CNNLENS_CHECK_LOG", str(log))
    expect("share", torch.tensor([0.6312345]), [0.63], tol=0.03)
    record = json.loads(log.read_text())
    assert record["name"] == "share" and record["value"] == [pytest.approx(0.6312345)]


def test_an_unknown_item_is_one_clear_error():
    with pytest.raises(KeyError, match="no item 9 for '03_backprop'"):
        check("03_backprop", 9, 0.5)


def _calls(path: Path) -> set[tuple[str, str]]:
    """(section, item) of every check(...) call in a notebook's code."""
    notebook = nbformat.read(path, as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    key = re.search(r'^KEY = "([^"]+)"', code, re.M)
    pattern = r'check\(\s*(KEY|"[^"]+"),\s*("[^"]+"|\d+),'
    return {
        (key.group(1) if section == "KEY" else section.strip('"'), item.strip('"'))
        for section, item in re.findall(pattern, code)
    }


def test_every_check_has_an_answer_and_every_answer_a_check():
    used = set().union(*map(_calls, NOTEBOOKS))
    stored = {(section, item) for section, items in _answers().items() for item in items}
    assert used == stored
    for section, items in _answers().items():
        for item, answer in items.items():
            assert answer["title"] and answer["expected"] is not None, (section, item)
            if item.isdigit():  # a homework task tells the student where to look
                assert answer["hint"], (section, item)


def _cell(grade_id, outputs, **flags):
    meta = {"nbgrader": {"grade_id": grade_id, **flags}}
    return nbformat.v4.new_code_cell("", metadata=meta, outputs=outputs)


def _error(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def test_task_results_name_each_task_and_why_it_failed():
    notebook = nbformat.v4.new_notebook()
    ok = nbformat.v4.new_output("stream", name="stdout", text="✓ task 1: rows (28)\n")
    notebook.cells = [
        _cell("solution-1", [], solution=True),
        _cell("task-1", [ok], grade=True),
        _cell("solution-2", [_error("NotImplementedError", "")], solution=True),
        _cell("task-2", [_error("NameError", "name 'share' is not defined")], grade=True),
        _cell("solution-3", [], solution=True),
        _cell(
            "task-3",
            [_error("CheckFailed", "✗ task 3: got 0.99, expected 0.63 ± 0.03")],
            grade=True,
        ),
    ]
    results = _task_results(notebook)
    assert [(r.task, r.passed) for r in results] == [
        ("task 1", True),
        ("task 2", False),
        ("task 3", False),
    ]
    assert results[0].lines == ("✓ task 1: rows (28)",)
    assert "not answered yet" in results[1].lines[0]
    assert results[2].lines == ("✗ task 3: got 0.99, expected 0.63 ± 0.03",)
