"""Any CNN an instructor brings: 20 torchvision classifiers through every method family.

Each architecture loads by name with random weights (no download) and runs at a small input:
capture at a middle convolution, saliency, guided backprop, Grad-CAM at the last spatial layer,
occlusion, a few render steps, top-k over a small probe set and a small dissection. Every output
is finite, the model is unchanged after every call, and guided backprop differs from the plain
gradient wherever ReLU gates exist — or is refused in one line where none do.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import cnnlens
from cnnlens.attribution import grad_cam, guided_backprop, input_gradient, occlusion, saliency
from cnnlens.data import ShapeWorld
from cnnlens.dissection import ShapeWorldProbe, dissect
from cnnlens.featurevis import channel, render
from cnnlens.stimuli import top_examples
from cnnlens.widgets import AttributionExplorer, BackpropExplorer, FeatureExplorer
from tests.snapshot import assert_unchanged, snapshot

SWEEP = [
    "alexnet",
    "vgg11_bn",
    "vgg16",
    "googlenet",
    "inception_v3",
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "densenet121",
    "squeezenet1_1",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mnasnet0_5",
    "shufflenet_v2_x0_5",
    "efficientnet_b0",
    "efficientnet_v2_s",
    "regnet_x_400mf",
    "regnet_y_400mf",
    "convnext_tiny",
]
SIZE = {"inception_v3": 96}  # its stem needs at least 75 px; the others run at 64
GATES = (nn.ReLU, nn.ReLU6)
NOT_GATES = (nn.SiLU, nn.Hardswish, nn.GELU, nn.Hardsigmoid, nn.Sigmoid)


def _spatial_convs(model: cnnlens.LoadedModel, size: int) -> list[str]:
    """Convolution paths whose maps are larger than 1×1 at this input size, in forward order."""
    layers = cnnlens.list_layers(model, input_size=size)
    return [
        info.name
        for info in layers
        if info.type == "Conv2d" and info.output_shape and min(info.output_shape[1:]) > 1
    ]


def _finite(value: torch.Tensor) -> bool:
    return bool(torch.isfinite(value).all())


@pytest.mark.slow
@pytest.mark.parametrize("name", SWEEP)
def test_every_family_runs_on_the_architecture(name):
    torch.manual_seed(0)
    model = cnnlens.load(name, pretrained=False)
    size = SIZE.get(name, 64)
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    convs = _spatial_convs(model, size)
    middle, last = convs[len(convs) // 2], convs[-1]
    before = snapshot(model.net)

    def check(value: torch.Tensor) -> None:
        assert _finite(value)
        assert_unchanged(before, model.net)

    check(cnnlens.capture(model, x, middle)[middle])
    check(saliency(model, x, 3))
    check(grad_cam(model, x, last, [3, 7]))
    check(occlusion(model, x[:1], 3, window=size // 2, stride=size // 2))
    check(render(model, channel(middle, [0]), steps=2, input_size=size).images)
    check(
        top_examples(
            model, middle, images=ShapeWorld(length=6, seed=3, size=size), k=2, cache=False
        ).values
    )
    check(dissect(model, middle, probe=ShapeWorldProbe(length=4, size=size)).iou)
    gates = sum(isinstance(m, GATES) for m in model.net.modules())
    others = sum(isinstance(m, NOT_GATES) for m in model.net.modules())
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        guided = guided_backprop(model, x, 3)
    check(guided)
    notes = [str(w.message) for w in said if issubclass(w.category, cnnlens.CnnlensWarning)]
    if others:  # SiLU, Hardswish, GELU, ...: said in one line, with how many
        assert len(notes) == 1 and "activations are not ReLUs" in notes[0], notes
    else:
        assert not notes, notes
    if gates or name in ("googlenet", "inception_v3"):  # these two use the functional F.relu
        plain = input_gradient(model, x, 3)
        assert (guided - plain).abs().max() > 1e-3 * plain.abs().max()  # random weights: tiny


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "shufflenet_v2_x0_5"])
def test_lecture_1_3_and_5_widgets_run_on_the_architecture(name):
    """The widgets of lectures 1, 3 and 5, driven headlessly on an instructor's network."""
    torch.manual_seed(0)
    model = cnnlens.load(name, pretrained=False, input_size=64)
    convs = _spatial_convs(model, 64)
    before = snapshot(model.net)
    features = FeatureExplorer(model, layer=convs[1])
    features.unit.value = 2
    backprop = BackpropExplorer(model, layer=convs[-1])
    backprop.unit.value = 1
    attribution = AttributionExplorer(model, method="Grad-CAM", background=False)
    attribution.options["window"].value = 32
    attribution.options["stride"].value = 16
    attribution.method.value = "occlusion"
    for widget in (features, backprop, attribution):
        assert not widget.status.is_error, (type(widget).__name__, widget.status.text)
    assert _finite(attribution.current) and attribution.current.shape == (64, 64)
    assert all(_finite(gradient) for gradient in backprop.current.values())
    maps = list(backprop.current.values())
    assert not torch.equal(maps[0], maps[2])  # gradient vs guided: ReLU gates make them differ
    assert_unchanged(before, model.net)
