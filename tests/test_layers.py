"""Layer addressing and listing, checked against hand-derived shapes."""

import pytest
import torch

import cnnlens
from cnnlens.core.layers import feeding_conv, layer_aliases


def test_paths_and_aliases_resolve(zoo, shapes):
    vgg = zoo["vgg16"]
    assert cnnlens.resolve_layer(vgg, "features.28") == "features.28"
    assert cnnlens.resolve_layer(vgg, "conv1") == "features.0"
    assert cnnlens.resolve_layer(vgg, "conv13") == "features.28"
    assert cnnlens.resolve_layer(vgg, "fc3") == "classifier.6"
    assert cnnlens.resolve_layer(zoo["alexnet"], "conv5") == "features.10"
    # ResNet and ShapeNet have their own `conv1`: no generated aliases shadow their names.
    assert layer_aliases(zoo["resnet18"]) == {}
    assert layer_aliases(shapes) == {}
    assert cnnlens.resolve_layer(zoo["resnet18"], "conv1") == "conv1"


def test_unknown_layer_suggests_close_names(shapes):
    with pytest.raises(
        cnnlens.CnnlensError,
        match=r"unknown layer 'conv4_3' in ShapeNet; did you mean 'conv4_2', 'conv4_1'",
    ) as err:
        cnnlens.resolve_layer(shapes, "conv4_3")
    assert "\n" not in str(err.value)
    with pytest.raises(cnnlens.CnnlensError, match="layer names are strings"):
        cnnlens.resolve_layer(shapes, 3)


def test_list_layers_shapes_match_hand_derived(shapes, zoo):
    layers = {info.name: info for info in cnnlens.list_layers(shapes)}
    # 64 px input, 'same' padding, three 2x2 pools: 64 -> 32 -> 16 -> 8.
    assert layers["conv1"].output_shape == (24, 64, 64)
    assert layers["pool1"].output_shape == (24, 32, 32)
    assert layers["pool3"].output_shape == (96, 8, 8)
    assert layers["relu4_2"].output_shape == (128, 8, 8)
    assert layers["fc"].output_shape == (18,)
    assert layers["conv1"].params == 5 * 5 * 3 * 24
    vgg = {info.name: info for info in cnnlens.list_layers(zoo["vgg16"])}
    assert vgg["features.28"].output_shape == (512, 14, 14)
    assert vgg["features.28"].alias == "conv13"
    assert vgg["features.30"].output_shape == (512, 7, 7)
    alex = {info.name: info for info in cnnlens.list_layers(zoo["alexnet"])}
    assert alex["features.0"].output_shape == (64, 55, 55)  # (224 + 2*2 - 11) // 4 + 1
    assert alex["features.2"].output_shape == (64, 27, 27)
    goog = {info.name: info for info in cnnlens.list_layers(zoo["googlenet"])}
    assert goog["inception4c"].output_shape == (512, 14, 14)
    assert str(layers["conv1"]) == "conv1: Conv2d -> 24×64×64"


@pytest.mark.parametrize("bad", [3, None, 2.5])
def test_a_layer_that_is_not_a_name_gets_one_line(shapes, bad):
    with pytest.raises(cnnlens.CnnlensError, match="layer names are strings"):
        cnnlens.capture(shapes, torch.rand(1, 3, 64, 64), bad)


def test_feeding_conv_is_the_last_conv_with_the_layers_channels():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3),  # 0
        torch.nn.ReLU(),  # 1
        torch.nn.Conv2d(8, 8, 1),  # 2: a second conv with 8 outputs
        torch.nn.BatchNorm2d(8),  # 3
        torch.nn.MaxPool2d(2),  # 4
        torch.nn.Conv2d(8, 16, 3),  # 5
        torch.nn.ReLU(),  # 6
    )
    assert feeding_conv(net, "0", 8) == "0"  # a conv feeds itself
    assert feeding_conv(net, "1", 8) == "0"
    assert feeding_conv(net, "4", 8) == "2"  # the later of two 8-channel convs, past BN and pool
    assert feeding_conv(net, "6", 16) == "5"
    assert feeding_conv(net, "conv2", 8) == "2"  # aliases resolve
    assert feeding_conv(net, "1", 16) is None  # the 16-channel conv comes after the layer
    with pytest.raises(cnnlens.CnnlensError, match="unknown layer '9'"):
        feeding_conv(net, "9", 8)
