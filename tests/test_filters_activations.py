"""Lecture 1 methods: filter views and feature maps against independent computations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnlens
from cnnlens.activations import feature_maps
from cnnlens.filters import filter_slices, filters_rgb, layer_filters


def test_layer_filters_are_a_detached_copy(shapes):
    weights = layer_filters(shapes, "conv1")
    assert weights.shape == (24, 3, 5, 5)
    assert torch.equal(weights, shapes.net.conv1.weight)
    weights.zero_()
    assert shapes.net.conv1.weight.abs().sum() > 0, "editing the copy must not touch the model"


def test_filters_rgb_normalizes_each_filter_to_full_range():
    w = torch.randn(4, 3, 5, 5)
    w[1] *= 100  # a strong filter must not wash out the others
    rgb = filters_rgb(w)
    assert rgb.shape == (4, 5, 5, 3)
    assert np.allclose(rgb.min(axis=(1, 2, 3)), 0) and np.allclose(rgb.max(axis=(1, 2, 3)), 1)
    expected = (w[2] - w[2].min()) / (w[2].max() - w[2].min())
    assert np.allclose(rgb[2], expected.permute(1, 2, 0).numpy(), atol=1e-6)


def test_filter_slices_keep_zero_at_mid_gray():
    w = torch.zeros(2, 3, 3, 3)
    w[1, 0, 0, 0], w[1, 2, 1, 1] = 2.0, -1.0
    slices = filter_slices(w, 1)
    assert slices.shape == (3, 3, 3)
    assert slices[0, 0, 0] == 1.0 and slices[2, 1, 1] == 0.25 and slices[1, 2, 2] == 0.5


def test_filter_errors(shapes):
    with pytest.raises(cnnlens.CnnlensError, match="'relu1' is a ReLU, not a Conv2d"):
        layer_filters(shapes, "relu1")
    with pytest.raises(cnnlens.CnnlensError, match="needs 3 input channels"):
        filters_rgb(layer_filters(shapes, "conv2"))
    with pytest.raises(
        cnnlens.CnnlensError, match=r"unit 48 out of range: 'layer' has units 0..47"
    ):
        filter_slices(layer_filters(shapes, "conv2"), 48)


def test_feature_maps_match_manual_convolution(shapes, shape_images):
    image = shape_images[1]
    fmaps = feature_maps(shapes, image, "bn1")
    net = shapes.net
    conv = F.conv2d(image[None], net.conv1.weight, padding=2)
    bn = net.bn1
    expected = (conv - bn.running_mean[None, :, None, None]) / torch.sqrt(
        bn.running_var[None, :, None, None] + bn.eps
    ) * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]
    assert fmaps.maps.shape == (24, 64, 64)
    assert torch.allclose(fmaps.maps, expected[0], atol=1e-4)
    assert fmaps.note == "pre-ReLU (relu1 applies ReLU after it)"
    assert torch.equal(fmaps.unit(3), fmaps.maps[3])
    with pytest.raises(cnnlens.CnnlensError, match="out of range"):
        fmaps.unit(24)
    with pytest.raises(cnnlens.CnnlensError, match="takes one image"):
        feature_maps(shapes, shape_images, "bn1")
    with pytest.raises(cnnlens.CnnlensError, match="not \\(C, H, W\\) maps"):
        feature_maps(shapes, image, "fc")
