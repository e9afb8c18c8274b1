"""Write docs/api.md: every public function and class of cnnlens with its signature.

The public surface is each package's `__all__` (for a module without one, the functions and
classes it defines whose names do not start with an underscore). Signatures show parameter names,
kinds (`/`, `*`) and defaults, not annotations: the reference pages have the types. The table is
committed; tests/test_api_table.py fails when it differs from what this script writes now, so a
renamed or reordered parameter shows up in review. Regenerate with

    .venv/bin/python scripts/api_table.py
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api.md"

# The public packages, in the order of the layers (lowest first, then the front ends). The site's
# API reference has one page per entry (scripts/mkdocs_hooks.py reads this tuple).
PACKAGES = (
    "cnnlens",
    "cnnlens.core",
    "cnnlens.data",
    "cnnlens.models",
    "cnnlens.activations",
    "cnnlens.filters",
    "cnnlens.stimuli",
    "cnnlens.attribution",
    "cnnlens.featurevis",
    "cnnlens.inversion",
    "cnnlens.train",
    "cnnlens.embedding",
    "cnnlens.dissection",
    "cnnlens.plot",
    "cnnlens.widgets",
    "cnnlens.course",
)


def public_names(module) -> list[str]:
    """The names a module exports: its `__all__`, else the functions and classes it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    )


def _source(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def declared_all(module: str) -> list[str]:
    """A module's `__all__` as its source declares it (empty without one)."""
    source = _source(module)
    for node in ast.parse(source.read_text() if source else "").body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


def shadowed(package: str, name: str) -> str | None:
    """The full path of `package.name` where a submodule of the same name hides it, else None.

    `cnnlens.core` exports the function `capture` of its submodule `capture`; griffe, which
    reads the sources for the reference pages, takes `cnnlens.core.capture` for the submodule
    (and `cnnlens.capture`, imported from `cnnlens.core`, too). Such an object is rendered by
    its full path (`cnnlens.core.capture.capture`) instead. Read from the sources, so the site
    build needs no import of cnnlens.
    """
    source = _source(package)
    if source is None:
        return None
    for node in ast.walk(ast.parse(source.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level or node.module is None:
            continue
        if not any(alias.name == name and alias.asname in (None, name) for alias in node.names):
            continue
        if node.module.endswith("." + name):
            return f"{node.module}.{name}"
        if (ROOT.joinpath(*node.module.split(".")) / "__init__.py").is_file():
            return shadowed(node.module, name)
    return None


def _default(value) -> str:
    if isinstance(value, Path) and value.is_relative_to(ROOT):
        # a folder of the package: the same in every checkout
        return repr(str(value.relative_to(ROOT)))
    text = repr(value)
    # An object's default repr holds its address, which changes from run to run.
    return re.sub(r"<(.+?) at 0x[0-9a-f]+>", r"<\1>", text)


def signature(obj) -> str:
    """`(a, b=1, *, c=None)`: names, kinds and defaults, without annotations."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # a builtin or C class without a signature
        return "(...)"
    parts: list[str] = []
    star_done = False
    params = list(sig.parameters.values())
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
            parts.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={_default(p.default)}")
        nxt = params[i + 1] if i + 1 < len(params) else None
        if p.kind is p.POSITIONAL_ONLY and (nxt is None or nxt.kind is not p.POSITIONAL_ONLY):
            parts.append("/")
    return "(" + ", ".join(parts) + ")"


def page(package: str) -> str:
    """The site page of a package's reference: `api/core.md` for `cnnlens.core`."""
    return f"api/{package.rpartition('.')[2]}.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows(package: str) -> list[tuple[str, str, str]]:
    """(name, kind, signature) of each public function and class of `package`."""
    module = importlib.import_module(package)
    out = []
    for name in public_names(module):
        obj = getattr(module, name)
        if inspect.isclass(obj):
            out.append((name, "class", signature(obj)))
        elif callable(obj):
            out.append((name, "function", signature(obj)))
    return out


def table() -> str:
    """The whole of docs/api.md."""
    lines = [
        "# API at a glance",
        "",
        "Every public function and class of cnnlens with its signature, package by package; a",
        "name links to its reference entry. Generated by `scripts/api_table.py` (do not edit; a",
        "test fails when it is out of date).",
        "",
    ]
    for package in PACKAGES:
        entries = rows(package)
        if not entries:
            continue
        lines += [f"## [`{package}`]({page(package)})", ""]
        lines += ["| name | kind | signature |", "| --- | --- | --- |"]
        for name, kind, sig in entries:
            link = f"[`{name}`][{shadowed(package, name) or package + '.' + name}]"
            lines.append(f"| {link} | {kind} | `{_cell(name + sig)}` |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = table()
    if argv[1:] == ["--check"]:
        if OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python scripts/api_table.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
