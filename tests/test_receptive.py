"""Receptive fields: hand-derived values for chains, measured fields for branching networks."""

import copy

import pytest
import torch

from cnnlens import CnnlensError
from cnnlens.stimuli import receptive_field
from cnnlens.stimuli.crops import crop
from cnnlens.stimuli.receptive import ReceptiveField, _measured

# (layer, size, stride), derived by hand from the papers' layer tables.
VGG16 = [
    ("features.0", 3, 1),  # conv1_1
    ("features.2", 5, 1),  # conv1_2
    ("features.4", 6, 2),  # pool1
    ("features.7", 14, 2),  # conv2_2
    ("features.16", 44, 8),  # pool3
    ("features.23", 100, 16),  # pool4
    ("features.28", 196, 16),  # conv5_3
    ("features.30", 212, 32),  # pool5
]
ALEXNET = [
    ("features.0", 11, 4),  # conv1
    ("features.2", 19, 8),  # pool1
    ("features.3", 51, 8),  # conv2
    ("features.5", 67, 16),  # pool2
    ("features.6", 99, 16),  # conv3
    ("features.10", 163, 16),  # conv5
    ("features.12", 195, 32),  # pool5
]


@pytest.mark.parametrize("name, table", [("vgg16", VGG16), ("alexnet", ALEXNET)])
def test_chains_match_hand_derived_fields(zoo, name, table):
    for layer, size, stride in table:
        field = receptive_field(zoo[name], layer)
        assert (field.size, field.stride) == (size, stride), layer
        assert not field.measured


def test_vgg_padding_puts_the_first_field_half_outside(zoo):
    # VGG pads every 3×3 conv by 1: conv1_1's unit 0 starts 1 px before the image.
    assert receptive_field(zoo["vgg16"], "features.0").start == -1
    assert receptive_field(zoo["alexnet"], "features.3").start == -18  # -2 (conv1) - 2×8 (conv2)


def test_measured_field_equals_geometry_on_every_shapenet_layer(shapes):
    for layer in ["conv1", "pool1", "relu2", "pool3", "conv4_1", "relu4_2"]:
        computed = receptive_field(shapes, layer)
        measured = _measured(shapes.net, layer)
        assert (measured.size, measured.stride, measured.start) == (
            computed.size,
            computed.stride,
            computed.start,
        ), layer


def test_branching_networks_are_measured(zoo):
    # ResNet-18: conv1 7 (stride 2), maxpool +2×2, then every 3×3 conv adds 2× the stride.
    layer1 = receptive_field(zoo["resnet18"], "layer1")
    assert (layer1.size, layer1.stride, layer1.measured) == (43, 4, True)
    layer2 = receptive_field(zoo["resnet18"], "layer2")
    assert (layer2.size, layer2.stride) == (99, 8)
    inception = receptive_field(zoo["googlenet"], "inception3a")
    assert (inception.size, inception.stride, inception.measured) == (43, 8, True)


def test_layer_without_a_map_has_no_field(shapes):
    with pytest.raises(CnnlensError, match="no spatial map"):
        receptive_field(shapes, "fc")


def test_box_and_crop_geometry():
    field = ReceptiveField("x", size=10, stride=4, start=-3)
    assert field.box(0, 0) == (-3, -3, 7, 7)
    assert field.box(0, 0, image_size=16) == (0, 0, 7, 7)
    assert field.center(1, 2) == (5.5, 9.5)
    image = torch.arange(3 * 16 * 16, dtype=torch.float32).reshape(3, 16, 16)
    inside = crop(image, field, 1, 1)
    assert torch.equal(inside, image[:, 1:11, 1:11])
    edge = crop(image, field, 0, 0)
    assert torch.equal(edge[:, 3:, 3:], image[:, :7, :7])
    assert (edge[:, :3] == 0.5).all() and (edge[:, :, :3] == 0.5).all()


def test_fields_are_remembered_per_architecture(shapes):
    first = receptive_field(shapes, "relu4_2")
    assert receptive_field(shapes, "relu4_2") is first
    wider = copy.deepcopy(shapes.net)
    wider.conv4_2.padding, wider.conv4_2.kernel_size = (2, 2), (5, 5)
    wider.conv4_2.weight = torch.nn.Parameter(torch.zeros(128, 128, 5, 5))
    assert receptive_field(wider, "relu4_2").size == first.size + 2 * 8


def test_adaptive_pooling_that_divides_evenly_is_a_plain_window(zoo):
    """VGG16's avgpool at 224 px turns its 7×7 input into 7×7: the field of features.30."""
    vgg = zoo["vgg16"]
    pooled, before = receptive_field(vgg, "avgpool"), receptive_field(vgg, "features.30")
    assert (pooled.size, pooled.stride, pooled.start, pooled.measured) == (
        before.size,
        before.stride,
        before.start,
        False,
    )


@pytest.mark.parametrize(("name", "size"), [("vgg16", 64), ("resnet18", 224)])
def test_a_map_of_fixed_size_after_adaptive_pooling_has_no_field(zoo, name, size):
    message = r"'avgpool' is \d+ units high whatever the input size"
    with pytest.raises(CnnlensError, match=message) as err:
        receptive_field(zoo[name], "avgpool", input_size=size)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "padding, dilation, kernel", [("same", 1, 3), ("same", 2, 3), ("same", 1, 4), ("valid", 1, 3)]
)
def test_string_padding_is_the_padding_it_names(padding, dilation, kernel):
    # Conv2d(padding="same") pads (dilation × (kernel − 1)) // 2 before the image (the rest after
    # it), "valid" none: the computed field equals the measured one, not a "non-square" error.
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, kernel, padding=padding, dilation=dilation),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 4, 3, padding=padding),
    )
    computed = receptive_field(net, "2")
    measured = _measured(net, "2")
    assert not computed.measured
    assert (computed.size, computed.stride, computed.start) == (
        measured.size,
        measured.stride,
        measured.start,
    )
