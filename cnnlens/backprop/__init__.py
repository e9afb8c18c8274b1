"""Backprop methods: one engine, three ReLU rules, targets anywhere in the network; CAM family."""

from cnnlens.backprop.cam import cam, grad_cam, guided_grad_cam, upsample
from cnnlens.backprop.engine import input_gradient
from cnnlens.backprop.maps import deconvnet, gradient_times_input, guided_backprop, saliency
from cnnlens.backprop.rules import RULES, relu_rule
from cnnlens.backprop.targets import Target, class_score, unit

__all__ = [
    "RULES",
    "Target",
    "cam",
    "class_score",
    "deconvnet",
    "grad_cam",
    "gradient_times_input",
    "guided_backprop",
    "guided_grad_cam",
    "input_gradient",
    "relu_rule",
    "saliency",
    "unit",
    "upsample",
]
