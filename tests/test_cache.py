"""The result cache keys on everything that changes a result, so it never returns another call's
numbers: weights, preprocessing (normalization, input size), layer, k or pooling, the dataset's
full identity and the code's format version."""

from __future__ import annotations

import dataclasses

import torch

from cnnlens.core import _cache
from cnnlens.data import ShapeWorld
from cnnlens.embedding import dataset_features
from cnnlens.embedding.features import _STORE as FEATURES
from cnnlens.stimuli import top_examples
from cnnlens.stimuli.topk import _STORE as TOP


def test_a_handle_and_its_bare_network_never_share_an_entry(zoo):
    """The torchvision handle normalizes with ImageNet statistics; its `.net` alone does not."""
    model = zoo["resnet18"]
    world = ShapeWorld(length=6, seed=11, size=64)
    TOP.clear()
    FEATURES.clear()
    handle_top = top_examples(model, "layer1", images=world, k=2)
    bare_top = top_examples(model.net, "layer1", images=world, k=2)
    assert not torch.allclose(handle_top.values, bare_top.values)
    fresh = top_examples(model.net, "layer1", images=world, k=2, cache=False)
    assert torch.equal(bare_top.values, fresh.values)
    handle_features = dataset_features(model, world).values
    bare_features = dataset_features(model.net, world).values
    assert not torch.allclose(handle_features, bare_features)
    x = torch.stack([world[i][0] for i in range(len(world))])
    assert torch.allclose(bare_features, dataset_features(model.net, x).values)  # uncached


def test_keys_differ_in_any_one_thing_a_result_depends_on(shapes, monkeypatch):
    world = ShapeWorld(length=6, seed=11)
    base = TOP.key(shapes, ("relu2", repr(world), 3))
    variants = [
        TOP.key(shapes.net, ("relu2", repr(world), 3)),  # no normalization
        TOP.key(dataclasses.replace(shapes, mean=(0.5, 0.5, 0.5)), ("relu2", repr(world), 3)),
        TOP.key(dataclasses.replace(shapes, std=(0.5, 0.5, 0.5)), ("relu2", repr(world), 3)),
        TOP.key(dataclasses.replace(shapes, input_size=32), ("relu2", repr(world), 3)),
        TOP.key(shapes, ("relu3", repr(world), 3)),
        TOP.key(shapes, ("relu2", repr(world), 4)),
        TOP.key(shapes, ("relu2", repr(ShapeWorld(length=7, seed=11)), 3)),
        TOP.key(shapes, ("relu2", repr(ShapeWorld(length=6, seed=12)), 3)),
        TOP.key(shapes, ("relu2", repr(ShapeWorld(length=6, seed=11, size=96)), 3)),
        FEATURES.key(shapes, ("relu2", repr(world), 3)),  # another kind of result
    ]
    monkeypatch.setattr(_cache, "FORMAT", _cache.FORMAT + 1)
    variants.append(TOP.key(shapes, ("relu2", repr(world), 3)))
    monkeypatch.undo()
    bias = shapes.net.fc.bias.detach().clone()
    with torch.no_grad():
        shapes.net.fc.bias[0] += 1.0
    try:
        variants.append(TOP.key(shapes, ("relu2", repr(world), 3)))
    finally:
        with torch.no_grad():
            shapes.net.fc.bias.copy_(bias)
    assert TOP.key(shapes, ("relu2", repr(world), 3)) == base  # the same call: the same key
    assert len({base, *variants}) == len(variants) + 1
