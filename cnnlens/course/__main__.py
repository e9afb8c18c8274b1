"""python -m cnnlens.course: the student's check, the instructor's hand-out and grading.

    python -m cnnlens.course check NOTEBOOK [NOTEBOOK ...]    which tasks pass (exit 1 if any fails)
    python -m cnnlens.course handout [--course DIR] [--out DIR]   student notebooks, no solutions
    python -m cnnlens.course grade SUBMISSIONS [--course DIR] [--out CSV]   scores per task, as CSV

`check` needs only cnnlens and nbclient; `handout` and `grade` use nbgrader
(`pip install cnnlens[course]`) and the solution notebooks (course/ in the repository).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnlens.core import CnnlensError


def _check(args: argparse.Namespace) -> int:
    from cnnlens.course._run import report, run_checks

    failed = False
    for path in args.notebooks:
        results = run_checks(path)
        print(report(path, results), flush=True)
        failed |= not all(result.passed for result in results)
    return 1 if failed else 0


def _handout(args: argparse.Namespace) -> int:
    from cnnlens.course._grading import write_handout

    for path in write_handout(args.course, args.out):
        print(f"wrote {path}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from cnnlens.course._grading import grade, write_csv

    grades = grade(args.course, args.submissions)
    write_csv(grades, args.out)
    totals: dict[tuple[str, str], list[float]] = {}
    for g in grades:
        total = totals.setdefault((g.student, g.homework), [0.0, 0.0])
        total[0] += g.score
        total[1] += g.max_score
    for (student, homework), (score, most) in totals.items():
        print(f"{student:16s} {homework:28s} {score:g} / {most:g}")
    print(f"wrote {args.out} ({len(grades)} rows: student, homework, task, score, max_score)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; errors print one line and return 2."""
    summary = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m cnnlens.course", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run a notebook's checks, say which tasks pass")
    check.add_argument("notebooks", nargs="+", type=Path)
    check.set_defaults(run=_check)
    handout = commands.add_parser("handout", help="write the student notebooks (nbgrader)")
    handout.add_argument("--course", type=Path, default=Path("course"), help="solution notebooks")
    handout.add_argument("--out", type=Path, default=Path("course/handout"))
    handout.set_defaults(run=_handout)
    grade = commands.add_parser("grade", help="grade SUBMISSIONS/STUDENT/*_student.ipynb")
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--course", type=Path, default=Path("course"), help="solution notebooks")
    grade.add_argument("--out", type=Path, default=Path("grades.csv"))
    grade.set_defaults(run=_grade)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CnnlensError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
