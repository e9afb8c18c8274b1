"""Checks that compare a value with the expected one, within a stated tolerance.

A check prints one line starting with ✓ when the value is right and raises `CheckFailed` (an
AssertionError, so test runners and graders count it as a failed test) with one line starting
with ✗ when it is wrong. The printed line names the expected value and its tolerance, never the
value computed, so a notebook's stored output is the same on any CPU.

Notebook checks take their expected values and tolerances from `answers.json`, shipped with the
package, never from a notebook's stored outputs (a student's save overwrites those):
`check("03_backprop", 2, share)` in a homework, `check(KEY, "randomization", rhos)` in a lecture.
`expect(name, value, expected, tol)` states the expected value in the code instead.

With the environment variable CNNLENS_CHECK_LOG set to a file, every check also appends one JSON
line with the value it saw, at full precision (scripts/measure_spread.py reads them).
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

Tolerance = float | Mapping[str, float]


class CheckFailed(AssertionError):
    """A checked value differs from the expected one by more than the tolerance.

    An AssertionError, so test runners and graders count it as a failed test; its message is one
    line starting with ✗.
    """


def _plain(value: Any) -> Any:
    """The value as JSON-like Python: tensors and arrays become numbers or lists, tuples lists."""
    if hasattr(value, "tolist"):  # torch tensors, numpy arrays and numpy scalars
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decimals(tol: float) -> int:
    """Enough decimals to show the tolerance's first significant digit (0.03 → 2, 0.005 → 3)."""
    return max(0, -math.floor(math.log10(tol))) if tol > 0 else 0


def _show(value: Any, tol: float) -> str:
    if _is_number(value) and isinstance(value, float) and tol > 0:
        return f"{value:.{_decimals(tol)}f}"
    return repr(value) if isinstance(value, str) else str(value)


def _expected_text(expected: Any, tol: float) -> str:
    if _is_number(expected) and tol > 0:
        return f"{_show(float(expected), tol)} ± {_show(float(tol), tol)}"
    return _show(expected, tol)


def _tolerance_for(tol: Tolerance, key: str) -> Tolerance:
    """A dict of tolerances gives each top-level key its own; a number applies everywhere."""
    return tol.get(key, 0.0) if isinstance(tol, Mapping) else tol


def _number_tol(tol: Tolerance) -> float:
    return 0.0 if isinstance(tol, Mapping) else float(tol)


def _mismatches(got: Any, expected: Any, tol: Tolerance, where: str) -> Iterator[str]:
    """One description per part of `got` that differs from `expected` (nothing when all agree)."""
    at = f"{where} " if where else ""
    bound = _number_tol(tol)
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            keys = sorted(got) if isinstance(got, dict) else type(got).__name__
            yield f"{at}{keys} instead of a dict with keys {sorted(expected)}"
            return
        for key, item in expected.items():
            yield from _mismatches(got[key], item, _tolerance_for(tol, key), f"{at}{key}")
    elif isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            yield f"{at}{_show(got, bound)}, expected a list of {len(expected)}"
        elif any(isinstance(item, (dict, list)) for item in expected):
            for index, (left, right) in enumerate(zip(got, expected, strict=True)):
                yield from _mismatches(left, right, tol, f"{where}[{index}]")
        elif any(_differs(left, right, bound) for left, right in zip(got, expected, strict=True)):
            shown = ", ".join(_show(item, bound) for item in got)
            yield f"{at}[{shown}], expected {_describe(expected, bound)}"
    elif _is_number(expected):
        if not _is_number(got) or not abs(got - expected) <= bound:
            yield f"{at}{_show(got, bound)}, expected {_expected_text(expected, bound)}"
    elif type(got) is not type(expected) or got != expected:
        yield f"{at}{_show(got, bound)}, expected {_show(expected, bound)}"


def _differs(got: Any, expected: Any, tol: Tolerance) -> bool:
    return next(_mismatches(got, expected, tol, ""), None) is not None


def _describe(expected: Any, tol: Tolerance = 0.0) -> str:
    """The expected value with its tolerance, as a check prints it: "guided 0.63 ± 0.03, ..."."""
    if isinstance(expected, dict):
        return ", ".join(
            f"{key} {_describe(item, _tolerance_for(tol, key))}" for key, item in expected.items()
        )
    bound = _number_tol(tol)
    if isinstance(expected, list) and bound and all(_is_number(item) for item in expected):
        shown = ", ".join(_show(float(item), bound) for item in expected)
        return f"[{shown}] ± {_show(bound, bound)}"
    return _expected_text(expected, bound)


def _log(name: str, got: Any, expected: Any, tol: Tolerance, section: str) -> None:
    path = os.environ.get("CNNLENS_CHECK_LOG")
    if path:
        tolerance = dict(tol) if isinstance(tol, Mapping) else tol
        record = {"section": section, "name": name, "value": got, "expected": expected}
        record["tol"] = tolerance
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")


def expect(
    name: str,
    value: Any,
    expected: Any,
    tol: Tolerance = 0.0,
    hint: str = "",
    *,
    section: str = "",
) -> None:
    """Print "✓ name (expected ± tol)" if `value` matches `expected`, else raise `CheckFailed`.

    Numbers match within `tol` (0: exactly); booleans, strings and None match exactly; lists match
    item by item, dicts key by key. The printed line names the expected value, never the value
    computed.

    Args:
        name: What is checked, as the line names it.
        value: The computed value: a number, bool, string, None, tensor or array, or a list or dict
            of them.
        expected: The expected value, of the same structure.
        tol: Absolute tolerance for numbers, or a dict giving each top-level key its own.
        hint: A line printed with the failure, to help the student.
        section: The answers.json section the check comes from; only labels the log record.

    Raises:
        CheckFailed: `value` differs from `expected` beyond `tol`.
    """
    got = _plain(value)
    _log(name, got, expected, tol, section)
    problems = list(_mismatches(got, expected, tol, ""))
    if problems:
        advice = f" — hint: {hint}" if hint else ""
        raise CheckFailed(f"✗ {name}: got {'; '.join(problems)}{advice}")
    print(f"✓ {name} ({_describe(expected, tol)})")


@functools.cache
def _answers() -> dict[str, dict[str, dict[str, Any]]]:
    """The homework answers: {homework: {task: {"title", "expected", "tol", "hint"}}}."""
    text = resources.files("cnnlens.course").joinpath("answers.json").read_text(encoding="utf-8")
    return json.loads(text)


def check(notebook: str, item: int | str, value: Any) -> None:
    """Check `value` against the answer `answers.json` holds for a notebook: print ✓ or raise.

    Homework items are task numbers ("✓ task 2: ..."), lecture items names.

    Args:
        notebook: The notebook's key in answers.json, e.g. "03_backprop".
        item: A homework task number, or a lecture check's name.
        value: The computed value.

    Raises:
        CheckFailed: `value` differs from the answer beyond its tolerance.
        KeyError: answers.json has no such item for `notebook`.
    """
    try:
        answer = _answers()[notebook][str(item)]
    except KeyError:
        raise KeyError(f"answers.json has no item {item!r} for {notebook!r}") from None
    name = f"task {item}: {answer['title']}" if isinstance(item, int) else answer["title"]
    tol, hint = answer.get("tol", 0.0), answer.get("hint", "")
    expect(name, value, answer["expected"], tol, hint, section=notebook)
