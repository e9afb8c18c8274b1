"""Capture: values against independent computations, truncation, in-place ReLU, bad input."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnlens
from cnnlens.attribution import grad_cam, input_gradient, unit
from cnnlens.core.capture import _forward_pass, model_logits
from cnnlens.core.layers import layer_aliases
from tests.small_nets import SharedBlock


def test_capture_matches_sequential_slices(shapes, shape_images):
    acts = cnnlens.capture(shapes, shape_images, ["relu2", "bn4_2"])
    net = shapes.net
    names = list(net._modules)
    upto = {name: net[: names.index(name) + 1] for name in ("relu2", "bn4_2")}
    with torch.no_grad():
        for name, prefix in upto.items():
            assert torch.allclose(acts[name], prefix(shape_images), atol=1e-6)
    assert acts["relu2"].shape == (4, 48, 32, 32)
    assert acts.notes["bn4_2"] == "pre-ReLU (relu4_2 applies ReLU after it)"
    assert acts.notes["relu2"] == "post-ReLU"


def test_inplace_relu_does_not_overwrite_a_pre_relu_capture(zoo):
    vgg = zoo["vgg16"]
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    acts = cnnlens.capture(vgg, x, ["features.28", "features.29"])
    with torch.no_grad():
        reference = vgg.net.features[:29](vgg.normalize(x))  # ends with conv 28: pre-ReLU
    assert torch.allclose(acts["features.28"], reference, atol=1e-5)
    assert (acts["features.28"] < 0).any(), "a pre-ReLU map has negative values"
    assert torch.allclose(acts["features.29"], reference.clamp(min=0), atol=1e-5)
    assert "in place" in acts.notes["features.28"]


def _counting_hook(counter: list[int]):
    def hook(*_):
        counter.append(1)

    return hook


def test_forward_stops_after_deepest_requested_layer(zoo):
    vgg = zoo["vgg16"].net
    later: list[int] = []
    handle = vgg.features[30].register_forward_hook(_counting_hook(later))
    try:
        x = torch.rand(1, 3, 64, 64)
        cnnlens.capture(vgg, x, "features.2")
        assert later == [], "the forward went past the requested layer"
        cnnlens.capture(vgg, x, "features.2", truncate=False)
        assert later == [1]
    finally:
        handle.remove()


def test_branchy_nets_capture_the_final_value(zoo):
    resnet, googlenet = zoo["resnet18"], zoo["googlenet"]
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    # ResNet's block calls one `relu` module twice: the capture is its last call, the block output.
    acts = cnnlens.capture(resnet, x, ["layer1.0.relu", "layer1.0"])
    assert torch.equal(acts["layer1.0.relu"], acts["layer1.0"])
    full = cnnlens.capture(googlenet, x, "inception4c", truncate=False)["inception4c"]
    later: list[int] = []
    handle = googlenet.net.inception5b.register_forward_hook(_counting_hook(later))
    try:
        early = cnnlens.capture(googlenet, x, "inception4c")["inception4c"]
    finally:
        handle.remove()
    assert torch.equal(early, full)
    assert later == []


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.rand(1, 1, 64, 64), "grayscale"),
        (torch.rand(1, 4, 64, 64), "RGBA"),
        (torch.rand(1, 64, 64, 3), "channels-last"),
        ((torch.rand(1, 3, 64, 64) * 255).to(torch.uint8), "floating point"),
        (torch.full((1, 3, 64, 64), float("nan")), "NaN"),
        (torch.rand(64, 64), r"shape \(N, 3, H, W\)"),
        ([[0.0]], "must be a torch.Tensor"),
    ],
)
def test_bad_images_get_one_line_errors(shapes, images, message):
    with pytest.raises(cnnlens.CnnlensError, match=message) as err:
        cnnlens.capture(shapes, images, "conv1")
    assert "\n" not in str(err.value)


def test_single_image_gets_a_batch_dimension(shapes, shape_images):
    acts = cnnlens.capture(shapes, shape_images[0], "pool1")
    assert acts["pool1"].shape == (1, 24, 32, 32)


class UserCNN(nn.Module):
    """A student's own CNN: custom forward, functional ReLU, one pooling module used twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(3, 8, 3, padding=1)
        self.conv_b = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv_a(x)))
        x = self.pool(F.relu(self.conv_b(x)))
        return self.head(x.mean(dim=(2, 3)))


def test_any_user_module_works():
    torch.manual_seed(0)
    net = UserCNN().eval()
    x = torch.rand(2, 3, 32, 32)
    layers = {info.name: info.output_shape for info in cnnlens.list_layers(net, input_size=32)}
    assert layers == {
        "conv_a": (8, 32, 32),
        "conv_b": (16, 16, 16),
        "pool": (16, 8, 8),
        "head": (5,),
    }
    acts = cnnlens.capture(net, x, ["conv_b", "pool"])
    with torch.no_grad():
        conv_b = net.conv_b(net.pool(F.relu(net.conv_a(x))))
    assert torch.allclose(acts["conv_b"], conv_b, atol=1e-6)
    # The shared `pool` runs twice: its capture is the last call, the input of the head.
    assert torch.allclose(acts["pool"], net.pool(F.relu(conv_b)), atol=1e-6)
    assert layer_aliases(net) == {"conv1": "conv_a", "conv2": "conv_b", "fc1": "head"}
    with pytest.raises(cnnlens.CnnlensError, match="did you mean 'conv2', 'conv1', 'conv_b'"):
        cnnlens.capture(net, x, "conv")


def test_a_module_run_twice_is_read_at_its_last_call_by_every_method():
    torch.manual_seed(0)
    net = SharedBlock()
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, second = net.calls(x)
    said = "layer 'block' runs 2 times in one forward; cnnlens reads its last call"
    with pytest.warns(cnnlens.CnnlensWarning, match=said) as caught:
        for truncate in (True, False):
            got = cnnlens.capture(net, x, "block", truncate=truncate)["block"]
            assert torch.allclose(got, second, atol=1e-6)
        ours = input_gradient(net, x, unit("block", 2))
        cams = grad_cam(net, x, "block", 1)
    # said at the user's line, not inside cnnlens or torch's module-call code
    assert {w.filename for w in caught if said in str(w.message)} == {__file__}
    leaf = x.clone().requires_grad_(True)
    (reference,) = torch.autograd.grad(net.calls(leaf)[1][:, 2].mean(dim=(1, 2)).sum(), leaf)
    assert torch.allclose(ours, reference, atol=1e-6)
    maps = second.clone().requires_grad_(True)
    (grads,) = torch.autograd.grad(net.head(maps.mean(dim=(2, 3)))[:, 1].sum(), maps)
    expected = (grads.mean(dim=(2, 3), keepdim=True) * maps).sum(dim=1).clamp(min=0)
    assert torch.allclose(cams, expected, atol=1e-6)


def test_model_logits_are_the_networks_output_on_normalized_images(shapes, shape_images):
    model = cnnlens.load(shapes.net, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4))
    mean = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)
    std = torch.tensor([0.2, 0.3, 0.4]).view(1, 3, 1, 1)
    with torch.no_grad():
        by_hand = shapes.net((shape_images - mean) / std)
    logits = model_logits(model, shape_images)
    assert torch.allclose(logits, by_hand, atol=1e-5) and not logits.requires_grad
    assert model_logits(model, shape_images[0]).shape == (1, by_hand.shape[1])


def test_a_forward_pass_records_its_latest_forward_and_stops_after_its_layers(shapes, shape_images):
    x = shape_images.clone().requires_grad_(True)
    with _forward_pass(shapes, ["relu2"], grad=True) as forward:
        assert forward(x) is None  # truncated: the forward stopped at relu2
        assert forward.recorded["relu2"].requires_grad
        forward(x[:1])
        assert forward.recorded["relu2"].shape[0] == 1  # the latest forward only
    with _forward_pass(shapes) as forward:  # nothing recorded: the whole forward, no graph
        output = forward(shape_images)
    assert isinstance(output, torch.Tensor) and not output.requires_grad
    assert torch.equal(output, model_logits(shapes, shape_images))
