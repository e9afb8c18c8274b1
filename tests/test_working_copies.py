"""`make course` opens working copies in an ignored folder, never the tracked notebooks."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "working_copies.py"

spec = importlib.util.spec_from_file_location("working_copies", SCRIPT)
working_copies = importlib.util.module_from_spec(spec)
spec.loader.exec_module(working_copies)


def digests(root: Path) -> dict[str, tuple[str, int]]:
    """Content digest and mtime of every file under the tracked notebook folders."""
    return {
        str(path.relative_to(root)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for folder in working_copies.FOLDERS
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def test_copies_every_lecture_and_homework_and_leaves_the_tracked_ones_alone(tmp_path):
    before = digests(ROOT)
    created, kept = working_copies.make_copies(ROOT, tmp_path / "work")
    assert kept == []
    names = {path.relative_to(tmp_path / "work").as_posix() for path in created}
    lectures = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    homework = {f"course/{p.name}" for p in (ROOT / "course").glob("*_homework.ipynb")}
    handout = {f"course/handout/{p.name}" for p in (ROOT / "course/handout").glob("*.ipynb")}
    assert len(lectures) == 8 and len(homework) == 8 and handout
    assert lectures | homework | handout <= names
    for path in created:
        original = ROOT / path.relative_to(tmp_path / "work")
        assert path.read_bytes() == original.read_bytes()
    assert digests(ROOT) == before  # not one byte nor one mtime of the tracked notebooks


def test_an_edited_copy_is_kept_and_a_missing_one_comes_back(tmp_path):
    work = tmp_path / "work"
    working_copies.make_copies(ROOT, work)
    edited = work / "notebooks" / "01_filters_and_feature_maps.ipynb"
    edited.write_text('{"edited": "by the instructor"}')
    removed = work / "course" / "03_backprop_homework.ipynb"
    removed.unlink()

    created, kept = working_copies.make_copies(ROOT, work)

    assert created == [removed]
    assert edited in kept
    assert edited.read_text() == '{"edited": "by the instructor"}'


def test_the_script_copies_into_the_folder_it_is_given(tmp_path):
    before = digests(ROOT)
    command = [sys.executable, str(SCRIPT), str(tmp_path / "copies")]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert (tmp_path / "copies" / "notebooks" / "06_code_inversion.ipynb").is_file()
    assert "created" in out
    assert digests(ROOT) == before


def test_make_course_opens_the_copies_in_an_ignored_folder():
    plan = subprocess.run(
        ["make", "-n", "course"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    lab = next(line for line in plan.splitlines() if "jupyter lab" in line)
    assert "scripts/working_copies.py work" in plan
    assert lab.startswith("cd work && ") and "--ServerApp.root_dir=." in lab
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "work/notebooks/01_filters_and_feature_maps.ipynb"],
        cwd=ROOT,
    )
    assert ignored.returncode == 0, "work/ must be in .gitignore"
