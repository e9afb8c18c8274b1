"""Shared fixtures: the embedded model and torchvision architectures with random weights."""

from __future__ import annotations

import pytest
import torch

import cnnlens

ZOO_NAMES = ("alexnet", "vgg16", "googlenet", "resnet18")


@pytest.fixture(autouse=True)
def every_0x_call_warns():
    """cnnlens says each 0.x call form once per process, and pytest makes that warning an error
    (pyproject.toml): forget what was said before each test, so that a 0.x call fails the test
    that makes it whatever ran before in the same worker."""
    from cnnlens.core import _legacy

    _legacy._said.clear()


@pytest.fixture(scope="session")
def shapes() -> cnnlens.LoadedModel:
    return cnnlens.load("shapes")


@pytest.fixture(scope="session")
def zoo() -> dict[str, cnnlens.LoadedModel]:
    torch.manual_seed(0)
    return {name: cnnlens.load(name, pretrained=False) for name in ZOO_NAMES}


@pytest.fixture
def shape_images() -> torch.Tensor:
    from cnnlens.data import ShapeWorld

    return ShapeWorld(length=8, seed=5).batch(0, 4).images
