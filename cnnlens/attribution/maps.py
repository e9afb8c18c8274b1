"""Gradient maps of lectures 3 and 5: saliency, gradient × input, deconvnet, guided backprop."""

from __future__ import annotations

import torch

from cnnlens.attribution.engine import input_gradient
from cnnlens.core.capture import images_for
from cnnlens.core.layers import ModelLike
from cnnlens.core.targets import Classes, Target


def saliency(model: ModelLike, images: torch.Tensor, target: Target | Classes) -> torch.Tensor:
    """Simonyan et al.: |d score / d pixel|, max over the colour channels: (N, H, W)."""
    return input_gradient(model, images, target).abs().amax(dim=1)


def gradient_times_input(
    model: ModelLike, images: torch.Tensor, target: Target | Classes
) -> torch.Tensor:
    """Gradient times the image, summed over colour channels: (N, H, W), signed."""
    gradient = input_gradient(model, images, target)
    return (gradient * images_for(model, images)).sum(dim=1)


def deconvnet(model: ModelLike, images: torch.Tensor, target: Target | Classes) -> torch.Tensor:
    """Zeiler & Fergus: ReLUs pass only positive returning gradients: (N, 3, H, W)."""
    return input_gradient(model, images, target, rule="deconvnet")


def guided_backprop(
    model: ModelLike, images: torch.Tensor, target: Target | Classes
) -> torch.Tensor:
    """Springenberg et al.: ReLUs pass positive gradients where the input was positive."""
    return input_gradient(model, images, target, rule="guided")
