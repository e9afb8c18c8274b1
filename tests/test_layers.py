"""Layer addressing and listing, checked against hand-derived shapes."""

import pytest
import torch

import cnnlens
from cnnlens.core.layers import layer_aliases


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
