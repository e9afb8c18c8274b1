"""The house's one-way imports (DESIGN.md): a package imports only packages below it, so there is
no arrow from a lower layer to a higher one and no cycle between packages."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cnnlens"

# Lower number = lower layer. A package may import only packages with a smaller number.
LAYER = {
    "errors": 0,
    "core": 1,  # the model handle, layer addressing, capture, guard, targets
    "data": 2,
    "models": 3,  # the embedded model's handle carries its training data's statistics (data)
    "activations": 3,
    "filters": 3,
    "stimuli": 3,
    "embedding": 3,
    "dissection": 3,
    "course": 3,
    "train": 4,  # trains the embedded model (models) on the shape world
    "attribution": 4,  # Zeiler-Fergus patches project top examples (stimuli)
    "featurevis": 4,
    "inversion": 5,  # inversion is feature visualization with a code-matching objective
    "plot": 6,
    "widgets": 7,
    "__init__": 8,
    "__main__": 8,
}


def imported_packages(path: Path) -> set[str]:
    """cnnlens packages (first component after `cnnlens.`) that the file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("cnnlens.")}
    return found


def package_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_every_package_has_a_layer():
    packages = {package_of(path) for path in PACKAGE.rglob("*.py")}
    assert packages <= set(LAYER), f"give {sorted(packages - set(LAYER))} a layer"


def test_no_package_imports_one_at_its_own_layer_or_above():
    upward = sorted(
        f"{path.relative_to(PACKAGE.parent)} imports cnnlens.{target}"
        for path in PACKAGE.rglob("*.py")
        for target in imported_packages(path)
        if target != package_of(path) and LAYER[target] >= LAYER[package_of(path)]
    )
    assert not upward, "\n".join(upward)


def test_no_relative_imports_hide_an_edge():
    relative = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not relative, relative
