"""The model-unchanged contract, checked with an independent snapshot across architectures.

Each model starts in a state a careless tool would disturb: training mode (BatchNorm would update
its running stats), gradients already on some parameters, a frozen parameter, a user hook. Every
public call, also one that fails on bad input or is interrupted inside the forward pass, must
leave all of it exactly as it was.
"""

import threading

import pytest
import torch

import cnnlens
from cnnlens.activations import feature_maps
from cnnlens.attribution import (
    cam,
    class_score,
    deconvnet,
    grad_cam,
    guided_backprop,
    input_gradient,
    integrated_gradients,
    occlusion,
    smoothgrad,
    unit,
)
from cnnlens.attribution.contributions import contribution_graph
from cnnlens.attribution.patches import gradient_patches
from cnnlens.dissection import ShapeWorldProbe, dissect
from cnnlens.embedding import dataset_features
from cnnlens.featurevis import channel, render
from cnnlens.filters import layer_filters
from cnnlens.inversion import invert
from cnnlens.stimuli import receptive_field, top_examples
from cnnlens.stimuli.crops import unit_crops
from cnnlens.stimuli.discrepancy import empirical_field
from tests.snapshot import assert_unchanged, snapshot

MODELS = ("shapes", "alexnet", "vgg16", "googlenet", "resnet18")


class Interrupted(RuntimeError):
    """Stands for anything that stops a call midway (an error, a KeyboardInterrupt, ...)."""


@pytest.fixture(params=MODELS)
def disturbed(request, shapes, zoo):
    """A model in a realistic mid-training state; cleaned up after the test."""
    model = shapes if request.param == "shapes" else zoo[request.param]
    net = model.net
    params = list(net.parameters())
    net.train()
    params[0].requires_grad_(False)
    params[-1].grad = torch.ones_like(params[-1])
    user_hook = net.register_forward_hook(lambda *_: None)
    yield model
    user_hook.remove()
    params[0].requires_grad_(True)
    params[-1].grad = None
    net.eval()


def _convs(model) -> list[str]:
    return [name for name, m in model.net.named_modules() if isinstance(m, torch.nn.Conv2d)]


def _public_calls(model) -> list:
    """One call of every public method family, sized for a quick run."""
    size = 64 if model.name == "shapes" else 96
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    convs = _convs(model)
    calls = [
        lambda: cnnlens.capture(model, x, [convs[0], convs[-1]]),
        lambda: cnnlens.capture(model, x, convs[1], truncate=False),
        lambda: cnnlens.list_layers(model, input_size=size),
        lambda: feature_maps(model, x[0], convs[1]),
        lambda: layer_filters(model, convs[0]),
        lambda: guided_backprop(model, x, [1, 2]),
        lambda: deconvnet(model, x, class_score(0, probability=True)),
        lambda: input_gradient(model, x, unit(convs[1], 0)),
        lambda: grad_cam(model, x, convs[-1], [0, 1]),
        lambda: occlusion(model, x[:1], 2, window=size // 2, stride=size // 2),
        lambda: smoothgrad(model, x[:1], 2, samples=2),
        lambda: integrated_gradients(model, x[:1], 2, steps=2),
        lambda: receptive_field(model, convs[1]),
        lambda: top_examples(model, convs[1], images=x, k=1, cache=False),
        lambda: unit_crops(
            model, top_examples(model, convs[0], images=x, k=1), 0, images=x, overlay=True
        ),
        lambda: dataset_features(model, x),
        lambda: dissect(model, convs[-1], probe=ShapeWorldProbe(length=4, size=size)),
        lambda: gradient_patches(model, top_examples(model, convs[1], images=x, k=1), 0, images=x),
        lambda: contribution_graph(model, x[:1], [convs[1], convs[2]], 0, fanout=1),
        lambda: render(model, channel(convs[1], [0, 1]), steps=2, input_size=size),
        lambda: invert(model, x[:1], convs[0], steps=2),
    ]
    if model.name in ("shapes", "resnet18", "googlenet"):  # global-average-pooling heads
        calls.append(lambda: cam(model, x, 3))
    if model.name == "shapes":  # occludes every patch of a unit's field: quick on 64 px only
        calls.append(
            lambda: empirical_field(model, top_examples(model, "relu2", images=x, k=1), 0, images=x)
        )
    return calls


def test_public_calls_leave_the_model_unchanged(disturbed):
    before = snapshot(disturbed.net)
    for call in _public_calls(disturbed):
        call()
        assert_unchanged(before, disturbed.net)


@pytest.mark.parametrize("name", ["shapes", "resnet18"])
def test_calls_from_two_threads_leave_the_model_unchanged_throughout(name, shapes, zoo):
    """Two threads run every family at once (in opposite orders) while the main thread watches
    the model's flags and hooks; afterwards it is exactly as before."""
    model = shapes if name == "shapes" else zoo[name]
    net = model.net
    net.train()
    next(iter(net.parameters())).requires_grad_(False)
    user_hook = net.register_forward_hook(lambda *_: None)
    try:
        before = snapshot(net)
        calls = _public_calls(model)
        errors: list[BaseException] = []

        def worker(order: list) -> None:
            try:
                for call in order:
                    call()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(order,)) for order in (calls, calls[::-1])]
        for thread in threads:
            thread.start()
        watched = 0
        while any(thread.is_alive() for thread in threads):
            now = snapshot(net)
            for key in ("training", "requires_grad", "hooks", "inplace", "modules"):
                assert now[key] == before[key], f"{key} changed while two calls ran"
            watched += 1
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert watched > 0
        assert_unchanged(before, net)
    finally:
        user_hook.remove()
        next(iter(net.parameters())).requires_grad_(True)
        net.eval()


def test_failed_calls_leave_the_model_unchanged(disturbed):
    model, size = disturbed, 64 if disturbed.name == "shapes" else 96
    convs = _convs(model)
    before = snapshot(model.net)
    with pytest.raises(cnnlens.CnnlensError):
        cnnlens.capture(model, torch.rand(1, 4, size, size), convs[0])
    with pytest.raises(cnnlens.CnnlensError):
        feature_maps(model, torch.rand(3, size, size), "no_such_layer")
    x = torch.rand(1, 3, size, size)
    with pytest.raises(cnnlens.CnnlensError):  # fails after the forward pass, mid backprop call
        guided_backprop(model, x, len(model.class_names))
    with pytest.raises(cnnlens.CnnlensError):
        input_gradient(model, x, 0, rule="nonsense")
    with pytest.raises(cnnlens.CnnlensError):  # after the forward: the class is out of range
        grad_cam(model, x, convs[-1], len(model.class_names))
    assert_unchanged(before, model.net)

    def interrupt(*_):
        raise Interrupted("stopped mid-forward")

    bomb = model.net.get_submodule(convs[2]).register_forward_hook(interrupt)
    try:
        with_bomb = snapshot(model.net)
        with pytest.raises(Interrupted):
            cnnlens.capture(model, x, convs[-1])
        with pytest.raises(Interrupted):
            guided_backprop(model, x, 0)
        with pytest.raises(Interrupted):
            top_examples(model, convs[-1], images=x, k=1, cache=False)
        with pytest.raises(Interrupted):
            dataset_features(model, x)
        assert_unchanged(with_bomb, model.net)
    finally:
        bomb.remove()
    assert_unchanged(before, model.net)
