"""Copy the lectures and the homework into an ignored folder, so the tracked notebooks stay as
committed (JupyterLab autosaves every notebook it opens; nbval compares against those files).

    python scripts/working_copies.py [FOLDER]   # default: work/

Creates FOLDER/notebooks/ and FOLDER/course/ (with course/handout/) on first run. A copy that
already exists is kept as it is — it holds the instructor's or student's edits and outputs — so a
later run only adds notebooks that are new in the repository. Delete a copy to get a fresh one.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "course")  # copied with their sub-folders (course/handout)
PATTERNS = ("*.ipynb", "*.md")


def sources(root: Path) -> list[Path]:
    """The files to copy, relative to `root`: notebooks and READMEs of FOLDERS, recursively,
    without JupyterLab's checkpoints."""
    found = {
        path.relative_to(root)
        for folder in FOLDERS
        for pattern in PATTERNS
        for path in (root / folder).rglob(pattern)
        if ".ipynb_checkpoints" not in path.parts
    }
    return sorted(found)


def make_copies(root: Path, into: Path) -> tuple[list[Path], list[Path]]:
    """Copy each of `sources(root)` to the same place under `into` unless a copy is already
    there. Returns (created, kept) as paths under `into`; nothing under `root` is written."""
    created, kept = [], []
    for relative in sources(root):
        target = into / relative
        if target.exists():
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
        created.append(target)
    return created, kept


def main(argv: list[str]) -> int:
    into = Path(argv[0]) if argv else ROOT / "work"
    created, kept = make_copies(ROOT, into)
    print(f"working copies in {into}: {len(created)} created, {len(kept)} kept as they were")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
