"""cnnlens 1.0's call conventions hold for the whole public surface, and 0.x's call forms still
work for one minor version, each with one FutureWarning located at the caller's line."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import cnnlens
from cnnlens.attribution import Target, grad_cam, integrated_gradients, occlusion, unit
from cnnlens.data import ShapeWorld
from cnnlens.dissection import ProbeBatch, ShapeWorldProbe, dissect
from cnnlens.embedding import dataset_features, nearest
from cnnlens.featurevis import (
    AlphaNorm,
    Blur,
    Objective,
    Param,
    TotalVariation,
    multifaceted,
    render,
    strongest_images,
)
from cnnlens.inversion import invert, invert_layers
from cnnlens.stimuli import receptive_field, top_examples
from cnnlens.train import evaluate
from scripts.api_table import PACKAGES as API_PACKAGES

# The probing packages of the site's API reference; plot's drawing helpers and the course's
# checker keep their call forms (expect(name, value, expected, tol)), so they are not held to it.
PACKAGES = [p for p in API_PACKAGES if p not in ("cnnlens.plot", "cnnlens.course")]
# The order of the inputs every function shares: model, then images, then where (layer), then
# what (unit or target). Positional parameters never go against it.
ORDER = {"model": 0, "images": 1, "image": 1, "layer": 2, "layers": 2, "unit": 3, "target": 3}


def public() -> Iterator[tuple[str, Callable]]:
    """Every public function and class (its constructor) of the probing packages, once each,
    records (dataclasses: results, settings) included: their options are keyword-only too."""
    seen = set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{package}.{name}", obj.__init__ if inspect.isclass(obj) else obj


def positional(function: Callable) -> list[inspect.Parameter]:
    parameters = inspect.signature(function).parameters.values()
    return [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"]


def test_the_public_surface_is_large_enough_to_mean_something():
    assert len(list(public())) > 100


def test_options_are_keyword_only():
    """A parameter with a default is an option, and options are keyword-only: `occlusion(m, x,
    0, 8, 4)` is not a call 1.0 accepts silently. (load's model name is its one input.)"""
    loose = {
        name: [p.name for p in positional(function)[1:] if p.default is not p.empty]
        for name, function in public()
    }
    assert {name: options for name, options in loose.items() if options} == {}


def test_positional_inputs_follow_one_order():
    wrong = {}
    for name, function in public():
        ranks = [ORDER[p.name] for p in positional(function) if p.name in ORDER]
        if ranks != sorted(ranks):
            wrong[name] = [p.name for p in positional(function)]
    assert wrong == {}


def said(call: Callable[[], object]) -> tuple[object, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [w for w in caught if issubclass(w.category, FutureWarning)]


def same(a: object, b: object) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b


def _score(values, model):
    return values["relu1"].mean()


def old_and_new(shapes, images) -> dict[str, tuple[Callable, Callable]]:
    world = ShapeWorld(length=40, seed=3)
    probe = ShapeWorldProbe(length=16, seed=2)
    x = images[:2]
    return {
        "grad_cam: target before layer": (
            lambda: grad_cam(shapes, x, 1, "relu3"),
            lambda: grad_cam(shapes, x, "relu3", 1),
        ),
        "occlusion: positional options, fill": (
            lambda: occlusion(shapes, x, 0, 16, 8, 0.25),
            lambda: occlusion(shapes, x, 0, window=16, stride=8, baselines=0.25),
        ),
        "integrated_gradients: baseline": (
            lambda: integrated_gradients(shapes, x, 0, baseline=0.5, steps=4),
            lambda: integrated_gradients(shapes, x, 0, baselines=0.5, steps=4),
        ),
        "top_examples: images positional": (
            lambda: top_examples(shapes, "relu2", world, 3, cache=False),
            lambda: top_examples(shapes, "relu2", images=world, k=3, cache=False),
        ),
        "strongest_images: layer first, top": (
            lambda: strongest_images(shapes, "relu3", 5, images, 2),
            lambda: strongest_images(shapes, images, "relu3", 5, k=2),
        ),
        "multifaceted: layer first, top": (
            lambda: multifaceted(shapes, "relu3", 5, images, 2, top=4),
            lambda: multifaceted(shapes, images, "relu3", 5, facets=2, k=4),
        ),
        "render: size and batch": (
            lambda: render(shapes, "relu2:3", steps=2, size=32, batch=2).images,
            lambda: render(shapes, "relu2:3", steps=2, input_size=32, count=2).images,
        ),
        "receptive_field: input_size positional": (
            lambda: receptive_field(shapes, "relu2", 64),
            lambda: receptive_field(shapes, "relu2", input_size=64),
        ),
        "dataset_features: layer positional": (
            lambda: dataset_features(shapes, world, "relu2", "mean").values,
            lambda: dataset_features(shapes, world, layer="relu2", pool="mean").values,
        ),
        "nearest: k positional": (
            lambda: nearest(images, images[:1], 2),
            lambda: nearest(images, images[:1], k=2),
        ),
        "dissect: probe positional, top_images": (
            lambda: dissect(shapes, "relu2", probe, top_images=2).iou,
            lambda: dissect(shapes, "relu2", probe=probe, k=2).iou,
        ),
        "unit: channel": (
            lambda: unit("relu2", channel=4, y=1, x=2),
            lambda: unit("relu2", 4, y=1, x=2),
        ),
        "Target: channel": (lambda: Target(channel=4), lambda: Target(unit=4)),
        "Target: positional": (
            lambda: Target(4, "relu2", 1, 2),
            lambda: Target(unit=4, layer="relu2", y=1, x=2),
        ),
        "AlphaNorm: alpha positional": (lambda: AlphaNorm(1.0, 6), lambda: AlphaNorm(1.0, alpha=6)),
        "Blur: sigmas positional": (
            lambda: Blur(1.0, 2.0, 0.5),
            lambda: Blur(1.0, sigma_start=2.0, sigma_end=0.5),
        ),
        "TotalVariation: beta positional": (
            lambda: TotalVariation(1.0, 1.5),
            lambda: TotalVariation(1.0, beta=1.5),
        ),
        "Param: positional": (lambda: Param(False, 1.5), lambda: Param(fourier=False, decay=1.5)),
        "LoadedModel: options positional": (
            lambda: cnnlens.LoadedModel(shapes.net, "s", 64, (), (0.5,) * 3).mean,
            lambda: cnnlens.LoadedModel(shapes.net, "s", 64, (), mean=(0.5,) * 3).mean,
        ),
        "Objective: options positional": (
            lambda: Objective(_score, frozenset({"relu1"}), 2, "x"),
            lambda: Objective(_score, frozenset({"relu1"}), batch=2, name="x"),
        ),
        "ProbeBatch: options positional": (
            lambda: ProbeBatch(0, x, None, None, None),
            lambda: ProbeBatch(0, x, masks=None, concepts=None, annotated=None),
        ),
        "evaluate: images positional": (
            lambda: evaluate(shapes.net, 8),
            lambda: evaluate(shapes.net, images=8),
        ),
        "invert_layers: 0.x name": (
            lambda: invert_layers(shapes, images[:1], ["relu1"], steps=2),
            lambda: invert(shapes, images[:1], ["relu1"], steps=2),
        ),
        "list_layers: input_size positional": (
            lambda: [i.output_shape for i in cnnlens.list_layers(shapes, 32)],
            lambda: [i.output_shape for i in cnnlens.list_layers(shapes, input_size=32)],
        ),
    }


CASES = list(old_and_new(None, torch.zeros(4, 3, 64, 64)))


@pytest.mark.parametrize("case", CASES)
def test_a_0x_call_gives_the_1_0_result_and_warns_once_at_the_callers_line(
    case, shapes, shape_images
):
    old, new = old_and_new(shapes, shape_images)[case]
    expected, quiet = said(new)
    assert quiet == []
    result, first = said(old)
    assert same(result, expected)
    assert len(first) >= 1 and {w.filename for w in first} == {__file__}
    assert all("0.x" in str(w.message) or "is now" in str(w.message) for w in first)
    _, second = said(old)
    assert second == []


def test_an_argument_under_both_names_is_a_type_error(shapes, shape_images):
    with pytest.raises(TypeError, match="both 'fill' and 'baselines'"):
        occlusion(shapes, shape_images[:1], 0, fill=0.5, baselines=0.5)
    with pytest.raises(TypeError, match="takes 3 positional"):
        occlusion(shapes, shape_images[:1], 0, 8, 4, 0.5, 64, None, "extra")


def test_renamed_attributes_still_read(shapes):
    top = top_examples(shapes, "relu2", images=ShapeWorld(length=20, seed=4), k=2)
    images, warned = said(lambda: top.images)
    assert images == top.scanned == 20 and len(warned) == 1
    channel, warned = said(lambda: Target(unit=3).channel)
    assert channel == 3 and len(warned) == 1


def test_signed_grad_cam_keeps_what_the_relu_drops(shapes, shape_images):
    signed = grad_cam(shapes, shape_images, "relu3", 2, signed=True)
    assert (signed < 0).any()
    assert torch.equal(signed.clamp(min=0), grad_cam(shapes, shape_images, "relu3", 2))


# 0.x names kept for one minor version, and the command-line entry points.
NOT_EXPORTED = {"dissect_layers", "last_feature_layer", "invert_layers", "main"}


def test_internal_helpers_are_private():
    """A module-level function or class with a public name, in a module with a public name, is
    exported by a package's (or module's) `__all__`: everything else cnnlens shares internally has
    a leading underscore or lives in a private module (`core/_recording.py`, ...)."""
    root = Path(cnnlens.__file__).parent
    exported = set()
    for path in root.rglob("*.py"):
        module = importlib.import_module(_module_name(root, path))
        exported |= {id(getattr(module, name)) for name in getattr(module, "__all__", ())}
    loose = {}
    for path in sorted(root.rglob("*.py")):
        if any(
            part.startswith("_") and part not in DUNDER for part in path.relative_to(root).parts
        ):
            continue
        module = importlib.import_module(_module_name(root, path))
        names = [
            node.name
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
        ]
        hidden = [
            n for n in names if id(getattr(module, n)) not in exported and n not in NOT_EXPORTED
        ]
        if hidden:
            loose[module.__name__] = hidden
    assert loose == {}


DUNDER = {"__init__.py", "__main__.py"}


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")
