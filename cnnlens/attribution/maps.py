"""Gradient maps of lectures 3 and 5: saliency, gradient × input, deconvnet, guided backprop."""

from __future__ import annotations

import torch

from cnnlens.attribution.engine import input_gradient
from cnnlens.attribution.reduce import attribution_map
from cnnlens.core.capture import _images_for
from cnnlens.core.layers import ModelLike
from cnnlens.core.targets import TargetLike


def saliency(model: ModelLike, images: torch.Tensor, target: TargetLike) -> torch.Tensor:
    """The saliency map: |d score / d pixel|, the maximum over the colour channels.

    Simonyan et al., Deep Inside Convolutional Networks: Visualising Image Classification Models and
    Saliency Maps, ICLR 2014 workshop, https://arxiv.org/abs/1312.6034.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to explain: a `Target`, a class index, or one class index per image.

    Returns:
        (N, H, W) float tensor, >= 0.

    Raises:
        CnnlensError: The target names an unknown layer, a unit or class out of range, or a position
            outside the map; `images` is not a finite float (N, 3, H, W) or (3, H, W) tensor.
    """
    return attribution_map(input_gradient(model, images, target), reduce="max_abs")


def gradient_times_input(
    model: ModelLike, images: torch.Tensor, target: TargetLike
) -> torch.Tensor:
    """Gradient times the image, summed over colour channels.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to explain: a `Target`, a class index, or one class index per image.

    Returns:
        (N, H, W) float tensor, signed.

    Raises:
        CnnlensError: The target is out of range or names an unknown layer; `images` is invalid.
    """
    gradient = input_gradient(model, images, target)
    return attribution_map(gradient * _images_for(model, images), reduce="sum")


def deconvnet(model: ModelLike, images: torch.Tensor, target: TargetLike) -> torch.Tensor:
    """The deconvnet reconstruction: ReLUs pass only positive returning gradients.

    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014,
    https://arxiv.org/abs/1311.2901.

    Equivalent to `input_gradient(model, images, target, rule="deconvnet")`.

    Args:
        model: A `LoadedModel` (normalization applied) or a plain `nn.Module`.
        images: (3, H, W) image or (N, 3, H, W) batch, float, values in [0, 1].
        target: The unit or class to reconstruct: a `Target`, or class indices (one, or one per
            image).

    Returns:
        The reconstruction in image space: (N, 3, H, W) float tensor, signed.

    Raises:
        CnnlensError: Invalid `images`, or a target with an unknown layer or an index out of range.
    """
    return input_gradient(model, images, target, rule="deconvnet")


def guided_backprop(model: ModelLike, images: torch.Tensor, target: TargetLike) -> torch.Tensor:
    """Guided backprop: ReLUs pass positive gradients where the input was positive.

    Springenberg et al., Striving for Simplicity: The All Convolutional Net, ICLR 2015 workshop,
    https://arxiv.org/abs/1412.6806.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, H, W) or (3, H, W) float tensor in [0, 1].
        target: What to explain: a `Target` (often a `unit`), a class index, or one class index per
            image.

    Returns:
        (N, 3, H, W) float tensor, signed.

    Raises:
        CnnlensError: The target is out of range or names an unknown layer; `images` is invalid.
    """
    return input_gradient(model, images, target, rule="guided")
