"""MkDocs hooks for the reference site (mkdocs.yml names this file): pages made from the sources.

- The lectures: `notebooks/*.ipynb` become pages at the same paths (mkdocs-jupyter renders them
  with their stored outputs; nothing is executed). The homework notebooks hold the solutions and
  are never added.
- The API reference: one page per package of `scripts/api_table.PACKAGES`, rendered from the
  docstrings by mkdocstrings.
- Both fill the nav sections of the same name in mkdocs.yml, so a new lecture or package needs no
  edit there.
- `<!-- include FILE -->` and `<!-- include FILE: Heading -->` in a page stand for that file, or
  for one `## Heading` section of it (`(intro)`: the text above the first `##`), so the site shows
  README text without a copy of it. Links in the included text are made relative to the page.
- The notebook pages would load MathJax, RequireJS and the widget manager from CDNs; the site is
  for offline use, so those script tags are dropped (stored images are inline data: URIs).
"""

from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from api_table import PACKAGES, declared_all, page, shadowed  # noqa: E402

LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
INCLUDE = re.compile(r"^<!-- include (?P<file>[^:\s]+)(?::\s*(?P<section>.+?))? -->$", re.M)
FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")
CDN_SCRIPT = re.compile(r'<script[^>]*\ssrc="(https?://[^"]*)?"[^>]*>\s*</script>\s*')
# Where a file outside docs/ that the included text links to is shown on the site.
SITE_PAGE = {"course/README.md": "teaching.md", "README.md": "index.md"}
SITE_PAGE |= {f"notebooks/{nb.name}": f"notebooks/{nb.name}" for nb in LECTURES}


def _lines_outside_fences(text: str):
    """Yield (line, inside_code_fence) for each line."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            yield line, True
        else:
            yield line, fenced


def sections(text: str) -> dict[str, str]:
    """The `## ` sections of a Markdown text by heading, `(intro)` for the text above them."""
    found: dict[str, list[str]] = {"(intro)": []}
    current = found["(intro)"]
    for line, fenced in _lines_outside_fences(text):
        if not fenced and line.startswith("## "):
            current = found.setdefault(line[3:].strip(), [])
        current.append(line)
    return {name: "\n".join(lines).strip() + "\n" for name, lines in found.items()}


def _slug(heading: str) -> str:
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())


def _read(file: str, section: str | None) -> str:
    path = ROOT / file
    if not path.is_file():
        raise PluginError(f"include: no file {file}")
    text = path.read_text()
    if section is None:
        return text
    parts = sections(text)
    if section not in parts:
        raise PluginError(f"include: {file} has no section '## {section}' (has: {list(parts)})")
    return parts[section]


def _anchor_pages(docs_dir: Path) -> dict[tuple[str, str], str]:
    """(file, heading slug) -> the page that includes that section."""
    where = {}
    for md in docs_dir.rglob("*.md"):
        for m in INCLUDE.finditer(md.read_text()):
            file, section = m["file"], m["section"]
            text = _read(file, section)
            for line, fenced in _lines_outside_fences(text):
                if not fenced and line.startswith("#"):
                    where[(file, _slug(line.lstrip("#")))] = md.relative_to(docs_dir).as_posix()
    return where


def _rewrite_links(text: str, file: str, page_uri: str, anchors) -> str:
    """Make the links of `file`'s text work from the site page `page_uri`."""
    source_dir = posixpath.dirname(file)
    page_dir = posixpath.dirname(page_uri)

    def fix(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            return m.group(0)
        path, _, anchor = target.partition("#")
        if not path:  # an anchor in the same file: on whichever page includes that section
            there = anchors.get((file, anchor))
            if there is None:
                raise PluginError(f"include: {file} links to #{anchor}, included on no page")
            new = "" if there == page_uri else posixpath.relpath(there, page_dir or ".")
            return f"{label}({new}#{anchor})"
        repo_path = posixpath.normpath(posixpath.join(source_dir, path))
        if repo_path.startswith("docs/"):
            site_path = repo_path.removeprefix("docs/")
        elif repo_path in SITE_PAGE:
            site_path = SITE_PAGE[repo_path]
        else:
            raise PluginError(f"include: {file} links to {target}, which the site does not have")
        new = posixpath.relpath(site_path, page_dir or ".")
        return f"{label}({new}{'#' + anchor if anchor else ''})"

    out = []
    for line, fenced in _lines_outside_fences(text):
        out.append(line if fenced else LINK.sub(fix, line))
    return "\n".join(out) + "\n"


def _shift_headings(text: str, levels: int) -> str:
    out = []
    for line, fenced in _lines_outside_fences(text):
        if not fenced and re.match(r"#{1,5} ", line):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out) + "\n"


def on_config(config):
    for item in config["nav"]:
        if item == {"Lectures": []}:
            item["Lectures"] = [f"notebooks/{nb.name}" for nb in LECTURES]
        elif item == {"API reference": []}:
            item["API reference"] = [{package: page(package)} for package in PACKAGES]
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which must see the notebooks
def on_files(files, config):
    for nb in LECTURES:
        # A plain File rooted at the repository, not File.generated: mkdocs-jupyter's wrapper
        # finds a generated file's source path as None.
        src_uri = nb.relative_to(ROOT).as_posix()
        files.append(File(src_uri, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    for package in PACKAGES:
        files.append(File.generated(config, page(package), content=_reference(package)))
    return files


def _reference(package: str) -> str:
    """A package's reference page: its docstring and members, and those a submodule hides."""
    text = f"::: {package}\n"
    for name in declared_all(package):
        path = shadowed(package, name)
        if path is None:
            continue
        home = path.rpartition(".")[0].rpartition(".")[0]  # the package holding the submodule
        if home == package or home not in PACKAGES:
            text += f"\n::: {path}\n    options:\n      heading_level: 2\n"
            text += "      show_root_full_path: false\n"
        else:
            text += f"\n`{name}`: exported here from [`{home}`][{path}].\n"
    return text


def on_pre_build(config):
    global _anchors
    _anchors = _anchor_pages(Path(config["docs_dir"]))


_anchors: dict[tuple[str, str], str] = {}


def on_page_markdown(markdown, page, config, files):
    def include(m: re.Match) -> str:
        file, section = m["file"], m["section"]
        text = _read(file, section)
        if section is None and file != "README.md":  # a whole file under the page's title
            text = _shift_headings(text, 1)
        return _rewrite_links(text, file, page.file.src_uri, _anchors)

    return INCLUDE.sub(include, markdown)


def on_post_page(output, page, config):
    if page.file.src_uri.endswith(".ipynb"):
        output = CDN_SCRIPT.sub("", output)
    return output
