"""CAM, Grad-CAM and guided Grad-CAM against exact identities and an independent hook reference."""

import copy

import pytest
import torch
from torch import nn

import cnnlens
from cnnlens.attribution import cam, grad_cam, guided_backprop, guided_grad_cam, unit, upsample


def _images(size: int, n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _logits(model, x):
    with torch.no_grad():
        return model.net.eval()(model.normalize(x))


@pytest.mark.parametrize(
    ("name", "fc"), [("shapes", "fc"), ("resnet18", "fc"), ("googlenet", "fc")]
)
def test_cam_mean_plus_bias_is_the_logit(name, fc, shapes, zoo):
    model = shapes if name == "shapes" else zoo[name]
    x = _images(model.input_size if name == "shapes" else 96)
    classes = [3, 11]
    maps = cam(model, x, classes)
    bias = model.net.get_submodule(fc).bias.detach()[classes]
    expected = _logits(model, x)[[0, 1], classes]
    assert torch.allclose(maps.mean(dim=(1, 2)) + bias, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "layer"), [("shapes", "relu4_2"), ("resnet18", "layer4")])
def test_grad_cam_at_the_pooled_layer_is_relu_of_cam(name, layer, shapes, zoo):
    model = shapes if name == "shapes" else zoo[name]
    x = _images(64)
    expected = cam(model, x, 4).clamp(min=0)
    ours = grad_cam(model, x, layer, 4)
    positions = expected.shape[1] * expected.shape[2]
    assert torch.allclose(ours * positions, expected, rtol=1e-4, atol=1e-6 * expected.max())


def _grad_cam_reference(model, x, cls, index):
    """Grad-CAM the usual hook way on a copy with out-of-place ReLUs."""
    net = copy.deepcopy(model.net).eval()
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    store = {}

    def keep(_module, _inputs, output):
        store["a"] = output
        output.register_hook(lambda grad: store.__setitem__("g", grad))

    net.features[index].register_forward_hook(keep)
    net(model.normalize(x))[:, cls].sum().backward()
    weights = store["g"].mean(dim=(2, 3), keepdim=True)
    return (weights * store["a"]).sum(dim=1).clamp(min=0).detach()


@pytest.mark.parametrize("index", [28, 29])  # conv5_3 before and after its in-place ReLU
def test_grad_cam_matches_hook_reference_on_vgg16(zoo, index):
    model = zoo["vgg16"]
    x = _images(96, n=1, seed=1)
    predicted = int(_logits(model, x).argmax())  # its Grad-CAM is rarely all zero
    ours = grad_cam(model, x, f"features.{index}", predicted)
    reference = _grad_cam_reference(model, x, predicted, index)
    assert reference.abs().sum() > 0
    assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-5 * reference.max())


def test_grad_cam_for_a_unit_target_stops_at_its_layer(shapes):
    x = _images(64, seed=2)
    later: list[int] = []
    handle = shapes.net.fc.register_forward_hook(lambda *_: later.append(1))
    try:
        maps = grad_cam(shapes, x, "relu3", unit("bn4_2", 9))
    finally:
        handle.remove()
    assert maps.shape == (2, 16, 16) and later == []


def test_guided_grad_cam_is_guided_backprop_times_upsampled_grad_cam(shapes):
    x = _images(64, seed=3)
    ours = guided_grad_cam(shapes, x, "relu3", 2)
    coarse = upsample(grad_cam(shapes, x, "relu3", 2), 64)
    assert ours.shape == (2, 3, 64, 64)
    assert torch.allclose(ours, guided_backprop(shapes, x, 2) * coarse[:, None])


def test_cam_errors(zoo, shapes):
    with pytest.raises(cnnlens.CnnlensError, match=r"CAM needs global average pooling.*VGG"):
        cam(zoo["vgg16"], _images(64), 0)
    with pytest.raises(cnnlens.CnnlensError, match="'fc' is not one"):
        grad_cam(shapes, _images(64), "fc", 0)
    with pytest.raises(
        cnnlens.CnnlensError, match=r"class 18 out of range: 'the output' has classes 0\.\.17"
    ):
        cam(shapes, _images(64), 18)


def test_grad_cam_of_a_target_before_its_layer_says_so(shapes):
    message = "the target at 'conv1' does not depend on 'conv3'"
    with pytest.raises(cnnlens.CnnlensError, match=message):
        grad_cam(shapes, _images(64), "conv3", unit("conv1", 0))


@pytest.mark.parametrize(
    ("name", "layer", "size"), [("shapes", "gap", 64), ("resnet18", "layer4", 32)]
)
def test_grad_cam_at_a_1x1_layer_says_the_map_is_flat(name, layer, size, shapes, zoo):
    model = shapes if name == "shapes" else zoo[name]
    with pytest.raises(cnnlens.CnnlensError, match=f"Grad-CAM at '{layer}' is a 1×1 map"):
        grad_cam(model, _images(size), layer, 0)
    with pytest.raises(cnnlens.CnnlensError, match=f"Grad-CAM at '{layer}' is a 1×1 map"):
        guided_grad_cam(model, _images(size), layer, 0)


def test_cam_at_a_small_input_says_the_map_is_flat(zoo):
    with pytest.raises(cnnlens.CnnlensError, match="CAM at the input of 'avgpool' is a 1×1 map"):
        cam(zoo["resnet18"], _images(32), 0)
