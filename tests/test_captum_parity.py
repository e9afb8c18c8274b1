"""Where Captum implements the same method, ours gives the same answer — except guided backprop
on GoogLeNet, whose functional ReLUs Captum cannot see (it returns the plain gradient there)."""

import copy

import pytest
import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    IntegratedGradients,
    LayerGradCam,
    Occlusion,
    Saliency,
)

from cnnlens.attribution import deconvnet, grad_cam, guided_backprop, input_gradient
from cnnlens.attribution.averaged import integrated_gradients
from cnnlens.attribution.occlusion import occlusion


def _forward(model):
    """A Captum forward function on a private copy (Captum adds hooks, swaps nothing back)."""
    net = copy.deepcopy(model.net).eval()
    return net, (lambda x: net(model.normalize(x)))


def _images(seed: int, size: int = 64) -> torch.Tensor:
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5 * b.abs().max().item())


@pytest.mark.parametrize("name", ["resnet18", "vgg16"])
def test_gradient_methods_match_captum(name, zoo):
    model = zoo[name]
    x = _images(0)
    _, forward = _forward(model)
    targets = torch.tensor([3, 9])
    assert _close(
        input_gradient(model, x, [3, 9]).abs(), Saliency(forward).attribute(x, targets, abs=True)
    )
    # Captum's guided/deconv classes take the bare net: feed it the normalized input; by the
    # chain rule its gradient is ours (w.r.t. the [0, 1] image) times the std.
    std = torch.tensor(model.std).view(1, 3, 1, 1)
    for ours, captum_class in [(guided_backprop, GuidedBackprop), (deconvnet, Deconvolution)]:
        net, _ = _forward(model)
        theirs = captum_class(net).attribute(model.normalize(x), targets)
        assert _close(ours(model, x, [3, 9]) * std, theirs), captum_class.__name__


def test_captum_guided_backprop_on_googlenet_is_the_plain_gradient_and_ours_is_not(zoo):
    model = zoo["googlenet"]
    x = _images(1, 96)
    net, _ = _forward(model)
    theirs = GuidedBackprop(net).attribute(model.normalize(x), target=5)  # normalized input space
    plain = input_gradient(model, x, 5) * torch.tensor(model.std).view(1, 3, 1, 1)
    assert _close(theirs, plain), "Captum falls back to the plain gradient on functional ReLUs"
    ours = guided_backprop(model, x, 5) * torch.tensor(model.std).view(1, 3, 1, 1)
    assert ((ours - theirs).norm() / theirs.norm()) > 0.5


@pytest.mark.parametrize(("name", "layer"), [("resnet18", "layer4"), ("vgg16", "features.29")])
def test_grad_cam_matches_captum(name, layer, zoo):
    model = zoo[name]
    x = _images(2, 96)
    net, forward = _forward(model)
    for module in net.modules():  # Captum's layer hook would see the in-place ReLU's result
        if hasattr(module, "inplace"):
            module.inplace = False
    cls = int(forward(x).argmax(dim=1)[0])
    theirs = LayerGradCam(forward, net.get_submodule(layer)).attribute(
        x, cls, relu_attributions=True
    )[:, 0]
    assert _close(grad_cam(model, x, layer, cls), theirs)


def test_occlusion_matches_captum(zoo):
    model = zoo["resnet18"]
    x = _images(3)
    _, forward = _forward(model)
    theirs = Occlusion(forward).attribute(
        x, sliding_window_shapes=(3, 16, 16), strides=(3, 8, 8), baselines=0.5, target=2
    )
    ours = occlusion(model, x, 2, window=16, stride=8, baselines=0.5)
    assert torch.allclose(ours, theirs[:, 0], rtol=1e-4, atol=1e-6)
    assert torch.equal(theirs[:, 0], theirs[:, 2]), "Captum's map is the same on every channel"


def test_integrated_gradients_match_captum(zoo):
    model = zoo["resnet18"]
    x = _images(4)
    _, forward = _forward(model)
    theirs = IntegratedGradients(forward).attribute(
        x, baselines=0.0, target=6, n_steps=16, method="riemann_middle"
    )
    ours = integrated_gradients(model, x, 6, baselines=0.0, steps=16)
    assert _close(ours, theirs)
