"""The backprop engine against independent references: hand-derived rules, plain autograd, and
the classic module-hook guided backprop on a copy whose functional ReLUs became modules."""

import copy
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import cnnlens
from cnnlens.attribution import (
    class_score,
    deconvnet,
    gradient_times_input,
    guided_backprop,
    input_gradient,
    saliency,
    unit,
)

RELU_SPELLINGS = {
    "F.relu": lambda h: F.relu(h),
    "F.relu inplace": lambda h: F.relu(h, inplace=True),
    "torch.relu": torch.relu,
    "nn.ReLU(inplace)": nn.ReLU(inplace=True),
    "Tensor.relu_ (argument reused)": lambda h: (h.relu_(), h)[1],
}


class WeightedReLU(nn.Module):
    """score = sum(w * relu(x)): d/dx by hand is w·[x>0] (gradient), relu(w) (deconvnet) and
    relu(w)·[x>0] (guided)."""

    def __init__(self, relu, w: torch.Tensor) -> None:
        super().__init__()
        self.relu, self.w = relu, w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(x * 1.0)  # a non-leaf, as every ReLU input inside a real network is
        return (h * self.w).flatten(1).sum(dim=1, keepdim=True)


def _assert_rules(net, x, w, gate, spelling):
    """The three rules by hand for d(w · act(x)) / dx, where `gate` is 1 where the ReLU passes."""
    expected = {
        "gradient": w * gate,
        "deconvnet": w.clamp(min=0).expand_as(x),
        "guided": w.clamp(min=0) * gate,
    }
    for rule, want in expected.items():
        got = input_gradient(net, x, 0, rule=rule)
        assert torch.allclose(got, want), f"{rule} with {spelling}"


@pytest.mark.parametrize("spelling", RELU_SPELLINGS)
def test_three_rules_match_hand_derived_gradients(spelling):
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, 3, 4, 4, generator=gen), torch.randn(1, 3, 4, 4, generator=gen)
    net = WeightedReLU(RELU_SPELLINGS[spelling], w)
    _assert_rules(net, x, w, (x > 0).float(), spelling)


def _reference_gradient(model, x, score_of):
    """Plain autograd on a deep copy: d score / d x (the copy may get parameter grads)."""
    net = copy.deepcopy(model.net).eval()
    x = x.clone().requires_grad_(True)
    score_of(net(model.normalize(x))).sum().backward()
    return x.grad


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5 * b.abs().max().item())


def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("name", ["shapes", "vgg16", "resnet18", "googlenet"])
def test_gradient_rule_is_plain_autograd(name, shapes, zoo):
    model = shapes if name == "shapes" else zoo[name]
    size = 64 if name == "shapes" else 96
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    ours = input_gradient(model, x, [3, 7])
    reference = _reference_gradient(model, x, lambda out: out[[0, 1], [3, 7]])
    assert _close(ours, reference)


def _guided_reference(model, x, cls):
    """Guided backprop the classic way: ReLU modules whose backward hook clamps to >= 0."""
    net = copy.deepcopy(model.net).eval()
    for module in net.modules():
        if type(module).__name__ == "BasicConv2d":  # GoogLeNet: conv-bn-F.relu -> a ReLU module
            module.relu = nn.ReLU()
            module.forward = types.MethodType(
                lambda self, h: self.relu(self.bn(self.conv(h))), module
            )
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False  # full backward hooks refuse in-place modules
            module.register_full_backward_hook(lambda m, gin, gout: (gin[0].clamp(min=0),))
    x = x.clone().requires_grad_(True)
    net(model.normalize(x))[:, cls].sum().backward()
    return x.grad


@pytest.mark.parametrize("name", ["googlenet", "vgg16", "shapes"])
def test_guided_backprop_matches_module_hook_reference(name, shapes, zoo):
    model = shapes if name == "shapes" else zoo[name]
    size = 64 if name == "shapes" else 96
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    ours = guided_backprop(model, x, 5)
    assert _close(ours, _guided_reference(model, x, 5))
    # GoogLeNet has no ReLU modules at all: a method that only hooks modules (Captum's guided
    # backprop falls back so) returns the plain gradient there; ours must not.
    assert _relative_difference(ours, input_gradient(model, x, 5)) > 0.5


def test_deconvnet_differs_from_guided_and_gradient(zoo):
    model = zoo["vgg16"]
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    maps = [input_gradient(model, x, 1), guided_backprop(model, x, 1), deconvnet(model, x, 1)]
    for i in range(3):
        for j in range(i + 1, 3):
            assert _relative_difference(maps[i], maps[j]) > 0.1


def test_unit_and_channel_targets_match_autograd(shapes):
    from cnnlens.data import ShapeWorld

    x = ShapeWorld(length=2, seed=4).batch(0, 2).images
    net = shapes.net
    upto_bn3 = net[: list(net._modules).index("bn3") + 1]
    for target, score_of in [
        (unit("bn3", 5, y=4, x=6), lambda v: v[:, 5, 4, 6]),
        (unit("bn3", 5), lambda v: v[:, 5].mean(dim=(1, 2))),
        (unit("bn3", np.int64(5)), lambda v: v[:, 5].mean(dim=(1, 2))),  # e.g. from argmax
        (unit("bn3", np.array([5, 7])), lambda v: v[[0, 1], [5, 7]].mean(dim=(1, 2))),
    ]:
        ours = input_gradient(shapes, x, target)
        reference = _reference_gradient(
            cnnlens.LoadedModel(upto_bn3, "prefix", 64, ()), x, score_of
        )
        assert ours.abs().sum() > 0 and _close(ours, reference)


def test_probability_target_is_softmax_within_the_head(shapes):
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    ours = input_gradient(shapes, x, class_score(8, probability=True))  # colour head: 6..11
    reference = _reference_gradient(shapes, x, lambda out: out[:, 6:12].softmax(dim=1)[:, 2])
    assert _close(ours, reference)


def test_saliency_and_gradient_times_input_shapes_and_values(shapes):
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    gradient = input_gradient(shapes, x, 0)
    assert torch.equal(saliency(shapes, x, 0), gradient.abs().amax(dim=1))
    assert torch.allclose(gradient_times_input(shapes, x, 0), (gradient * x).sum(dim=1))


def test_targets_as_tensors_and_arrays_are_the_same_targets_as_ints(shapes):
    """A tensor of targets (`batch.labels[:, 0]`), a 0-d tensor, a NumPy array or integer."""
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    per_image = input_gradient(shapes, x, [0, 3])
    for spec in (torch.tensor([0, 3]), torch.tensor([[0, 9], [3, 9]])[:, 0], np.array([0, 3])):
        assert torch.equal(input_gradient(shapes, x, spec), per_image)
    one = input_gradient(shapes, x, 3)
    for spec in (torch.tensor(3), np.int64(3), np.array(3)):
        assert torch.equal(input_gradient(shapes, x, spec), one)
    channel = input_gradient(shapes, x, unit("relu3", 5))
    assert torch.equal(input_gradient(shapes, x, unit("relu3", torch.tensor(5))), channel)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x: input_gradient(m, x, 0, rule="smooth"), "unknown backprop rule 'smooth'"),
        (lambda m, x: saliency(m, x, 18), r"class 18 out of range: 'the output' has classes 0..17"),
        (
            lambda m, x: saliency(m, x, torch.tensor([0.0, 1.0])),
            r"class must be an integer, got Tensor of torch.float32",
        ),
        (lambda m, x: saliency(m, x, unit("relu3", 2.0)), "unit must be an integer, got float"),
        (lambda m, x: saliency(m, x, [1, 2, 3]), "got 3 target indices for 2 images"),
        (lambda m, x: saliency(m, x, unit("relu4_2", 0, y=8, x=0)), r"outside relu4_2's 8×8 map"),
        (lambda m, x: saliency(m, x, unit("relu9", 0)), "unknown layer 'relu9'"),
        (lambda m, x: saliency(m, x, unit(0, 3)), "layer names are strings like 'conv1', got int"),
    ],
)
def test_bad_targets_get_one_line_errors(shapes, call, message):
    x = torch.rand(2, 3, 64, 64)
    with pytest.raises(cnnlens.CnnlensError, match=message) as err:
        call(shapes, x)
    assert "\n" not in str(err.value)


CLIPPED_SPELLINGS = {
    "nn.ReLU6": nn.ReLU6(),
    "nn.ReLU6(inplace)": nn.ReLU6(inplace=True),
    "F.relu6": lambda h: F.relu6(h),
    "F.hardtanh(h, 0, 6)": lambda h: F.hardtanh(h, 0.0, 6.0),
}


@pytest.mark.parametrize("spelling", CLIPPED_SPELLINGS)
def test_relu6_rules_match_hand_derived_gradients(spelling):
    gen = torch.Generator().manual_seed(0)
    x, w = 5 * torch.randn(2, 3, 4, 4, generator=gen), torch.randn(1, 3, 4, 4, generator=gen)
    assert (x > 6).any() and (x < 0).any()
    net = WeightedReLU(CLIPPED_SPELLINGS[spelling], w)
    _assert_rules(net, x, w, ((x > 0) & (x < 6)).float(), spelling)


def _hooked_guided(net: nn.Module, x: torch.Tensor, cls: int) -> torch.Tensor:
    """Guided backprop on a copy of a plain module whose ReLU/ReLU6 modules clamp their input
    gradient to >= 0 (module backward hooks)."""
    net = copy.deepcopy(net).eval()
    for module in net.modules():
        if isinstance(module, (nn.ReLU, nn.ReLU6)):
            module.inplace = False
            module.register_full_backward_hook(lambda m, gin, gout: (gin[0].clamp(min=0),))
    x = x.clone().requires_grad_(True)
    net(x)[:, cls].sum().backward()
    return x.grad


def test_guided_backprop_follows_relu6_networks():
    torch.manual_seed(0)
    small = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU6(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU6(),
        nn.Flatten(),
        nn.Linear(8 * 16 * 16, 4),
    )
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    assert _close(guided_backprop(small, x, 1), _hooked_guided(small, x, 1))
    mobilenet = torchvision.models.mobilenet_v2(weights=None, num_classes=10)
    mobilenet = cnnlens.load(mobilenet, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    ours = guided_backprop(mobilenet, x, 3)
    assert _close(ours, _hooked_guided(mobilenet.net, x, 3))
    assert _relative_difference(ours, input_gradient(mobilenet, x, 3)) > 0.5


def test_rules_say_how_many_activations_they_left_as_they_are():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Conv2d(4, 4, 3), nn.Hardswish(), nn.ReLU6(),
        nn.Conv2d(4, 4, 3), nn.GELU(), nn.SiLU(), nn.Flatten(), nn.Linear(4 * 2 * 2, 2),
    )  # fmt: skip
    x = torch.rand(1, 3, 8, 8)
    note = (
        "{}: 4 activations are not ReLUs (GELU ×1, Hardswish ×1, SiLU ×2) and have no {} rule; "
        "they pass the plain gradient"
    )
    for rule, call in (("guided", guided_backprop), ("deconvnet", deconvnet)):
        with pytest.warns(cnnlens.CnnlensWarning) as record:
            call(net, x, 0)
        assert [str(w.message) for w in record] == [note.format(rule, rule)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        input_gradient(net, x, 0)  # the plain gradient is exact there: nothing to say
