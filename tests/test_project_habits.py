"""The habits of a published library: one version source, a licence file that matches the
metadata, a changelog entry for the version, and a pre-commit hook set equal to CI's lint."""

import re
import sys
from pathlib import Path

import yaml

import cnnlens

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_has_one_source():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "cnnlens.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", cnnlens.__version__)


def test_the_licence_file_is_the_licence_the_metadata_names():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_changelog_has_an_entry_for_the_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{cnnlens.__version__}]" in changelog


def test_pre_commit_runs_what_ci_lint_runs():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    lint = {line.strip().replace("$(BIN)", ".venv/bin") for line in recipe.splitlines()}
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["entry"] for repo in config["repos"] for hook in repo["hooks"]}
    assert hooks == lint


def test_the_package_ships_its_type_annotations():
    # PEP 561: py.typed in the package, and in what setuptools installs (package-data).
    from importlib.resources import files

    assert files("cnnlens").joinpath("py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["cnnlens"]
    assert any(
        extra.startswith("mypy") for extra in PYPROJECT["project"]["optional-dependencies"]["dev"]
    )
