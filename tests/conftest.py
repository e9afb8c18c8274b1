"""Shared fixtures: the embedded model and torchvision architectures with random weights."""

from __future__ import annotations

import pytest
import torch

import cnnlens

ZOO_NAMES = ("alexnet", "vgg16", "googlenet", "resnet18")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real-browser tests run last (a stable sort keeps every other order). By then nbval has
    run the lectures in this session, so the dataset scans the browser's kernels repeat come from
    the session's result cache: the browser tests check the frontend, nbval the computations."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def private_result_cache(tmp_path_factory):
    """Dataset scans cache on disk; tests (and the notebooks they run) get a fresh cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNLENS_CACHE", str(tmp_path_factory.mktemp("cnnlens-cache")))
        yield


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
