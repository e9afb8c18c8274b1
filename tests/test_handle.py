"""The model handle: any torchvision classifier or timm model by name, your own module with what
cnnlens cannot guess declared, and forward outputs that are not one tensor."""

from __future__ import annotations

import builtins
import dataclasses
import warnings

import pytest
import torch
import torchvision
from torch import nn

import cnnlens
from cnnlens.attribution import grad_cam, integrated_gradients, occlusion, saliency
from cnnlens.core.capture import output_names
from cnnlens.core.handle import _as_handle
from cnnlens.featurevis import class_logit, render
from cnnlens.models import names
from cnnlens.widgets import AttributionExplorer, FeatureVisualizer
from tests.test_zoo_sweep import SWEEP


def test_every_torchvision_classifier_is_a_name():
    assert set(SWEEP) <= set(names())
    assert set(torchvision.models.list_models(module=torchvision.models)) <= set(names())


@pytest.mark.parametrize(
    ("name", "size"), [("inception_v3", 299), ("efficientnet_v2_s", 384), ("mobilenet_v2", 224)]
)
def test_metadata_comes_from_the_weights_entry(name, size):
    model = cnnlens.load(name, pretrained=False)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    assert model.input_size == size == weights.transforms().crop_size[0]
    assert model.mean == tuple(weights.transforms().mean)
    assert model.class_names == tuple(weights.meta["categories"]) and len(model.class_names) == 1000
    assert not model.net.training


def test_a_module_declares_what_cannot_be_guessed():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    model = cnnlens.load(net, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2), input_size=32,
                         class_names=["cat", "dog"])  # fmt: skip
    assert repr(model) == "LoadedModel('Sequential', random weights, input 32px, 2 classes)"
    x = torch.rand(2, 3, 32, 32)
    by_hand = net((x - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / 0.2)
    assert torch.allclose(cnnlens.capture(model, x, "3")["3"], by_hand, atol=1e-6)
    assert model.heads == {"class": slice(0, 2)}
    for bad, message in [
        ({"mean": (0.5, 0.5)}, "mean needs 3 values"),
        ({"std": (1, 0, 1)}, "std values must be positive"),
        ({"input_size": 0}, "input_size must be a positive"),
    ]:
        with pytest.raises(cnnlens.CnnlensError, match=message):
            cnnlens.load(net, **bad)
    with pytest.raises(cnnlens.CnnlensError, match=r"takes a model name or an nn\.Module, got int"):
        cnnlens.load(3)


def test_a_bare_torchvision_module_is_said_once_to_get_unnormalized_images():
    net = torchvision.models.resnet18()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cnnlens.capture(net, torch.rand(1, 3, 64, 64), "layer1")
        saliency(net, torch.rand(1, 3, 64, 64), 0)
    said = [w for w in caught if "without ImageNet normalization" in str(w.message)]
    assert len(said) == 1 and "cnnlens.load(net, mean=..., std=...)" in str(said[0].message)
    assert said[0].filename == __file__  # the user's line, not a file inside cnnlens
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # declared: nothing to say
        cnnlens.load(torchvision.models.resnet18(), mean=(0.5,) * 3, std=(0.2,) * 3)


def test_a_loaded_torchvision_model_says_nothing_about_normalization():
    model = cnnlens.load("alexnet", pretrained=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cnnlens.list_layers(model)  # unwraps the network inside; the handle declared it all
        saliency(model, torch.rand(1, 3, 64, 64), 0)
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert said == []


def test_timm_models_load_by_name_with_their_config():
    pytest.importorskip("timm", reason="timm is in the test extra")
    model = cnnlens.load("timm:resnet18", pretrained=False)
    assert model.mean == (0.485, 0.456, 0.406) and model.input_size == 224
    assert saliency(model, torch.rand(1, 3, 64, 64), 3).shape == (1, 64, 64)
    with pytest.raises(cnnlens.CnnlensError, match=r"timm has no model 'resnt18'.*'timm:resnet18'"):
        cnnlens.load("timm:resnt18", pretrained=False)


def test_without_timm_the_message_says_how_to_get_it(monkeypatch):
    real_import = builtins.__import__

    def no_timm(name, *args, **kwargs):
        if name == "timm" or name.startswith("timm."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_timm)
    with pytest.raises(cnnlens.CnnlensError, match=r"needs timm: pip install timm"):
        cnnlens.load("timm:resnet18")


class Outputs(nn.Module):
    """A course CNN whose forward returns its logits together with other tensors."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8, 4)
        self.other = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor):
        features = self.relu(self.conv(x)).mean(dim=(2, 3))
        logits = self.fc(features)
        if self.kind == "tuple":
            return logits, features
        if self.kind == "dict":
            return {"features": features, "logits": logits}
        if self.kind == "object":
            return dataclasses.make_dataclass("Out", ["logits", "hidden"])(logits, features)
        return {"a": logits, "b": self.other(features)}  # ambiguous


def _by_hand(net: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    """|d logit / d pixel| max over RGB, with the logits computed by hand."""
    x = x.clone().requires_grad_(True)
    logits = net.fc(net.relu(net.conv(x)).mean(dim=(2, 3)))
    (gradient,) = torch.autograd.grad(logits[:, target].sum(), x)
    return gradient.abs().amax(dim=1)


@pytest.mark.parametrize("kind", ["tuple", "dict", "object"])
def test_outputs_that_are_not_one_tensor_use_their_logits(kind):
    torch.manual_seed(0)
    net = Outputs(kind).eval()
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(saliency(net, x, 1), _by_hand(net, x, 1), atol=1e-6)
    assert grad_cam(net, x, "conv", 1).shape == (2, 16, 16)
    assert occlusion(net, x, 1, window=8, stride=8).shape == (2, 16, 16)
    assert integrated_gradients(net, x, 1, steps=2).shape == (2, 3, 16, 16)
    rendering = render(cnnlens.load(net, input_size=16), class_logit(1), steps=2, transforms=[])
    assert rendering.images.shape == (1, 3, 16, 16)
    widget = AttributionExplorer(
        cnnlens.load(net, input_size=16), method="saliency", background=False
    )
    assert not widget.status.is_error and len(widget.class_names) == 4


def test_an_ambiguous_output_asks_which_holds_the_logits():
    torch.manual_seed(0)
    net = Outputs("ambiguous").eval()
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(cnnlens.CnnlensError, match=r"returns a dict \(tensors at: 'a', 'b'\)"):
        saliency(net, x, 0)
    chosen = saliency(cnnlens.load(net, output="a"), x, 0)
    assert torch.allclose(chosen, _by_hand(net, x, 0), atol=1e-6)
    with pytest.raises(cnnlens.CnnlensError, match="has no tensor at 'c'"):
        saliency(cnnlens.load(net, output="c"), x, 0)
    assert _as_handle(net) is _as_handle(net)  # made once per module


def test_a_model_without_class_names_gets_one_name_per_output_in_every_widget():
    torch.manual_seed(0)
    net = Outputs("tuple").eval()
    model = cnnlens.load(net, input_size=32)
    assert output_names(model) == ("class 0", "class 1", "class 2", "class 3")
    visualizer = FeatureVisualizer(model, background=False)
    assert [label for label, _ in visualizer.controls["class"].options] == list(output_names(model))
    explorer = AttributionExplorer(model, method="saliency", background=False)
    assert explorer.class_names == output_names(model)
    assert output_names(cnnlens.load("shapes"))[0] == "shape:circle"
