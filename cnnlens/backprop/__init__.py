"""Backprop methods: one engine, three ReLU rules, targets anywhere in the network."""

from cnnlens.backprop.engine import input_gradient
from cnnlens.backprop.maps import deconvnet, gradient_times_input, guided_backprop, saliency
from cnnlens.backprop.rules import RULES, relu_rule
from cnnlens.backprop.targets import Target, class_score, unit

__all__ = [
    "RULES",
    "Target",
    "class_score",
    "deconvnet",
    "gradient_times_input",
    "guided_backprop",
    "input_gradient",
    "relu_rule",
    "saliency",
    "unit",
]
