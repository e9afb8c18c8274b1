"""Attribution (lectures 3 and 5): one backprop engine with three ReLU rules and targets anywhere
in the network; gradient maps, the CAM family and occlusion."""

from cnnlens.attribution.averaged import integrated_gradients, smoothgrad
from cnnlens.attribution.cam import cam, grad_cam, guided_grad_cam, upsample
from cnnlens.attribution.engine import input_gradient
from cnnlens.attribution.maps import deconvnet, gradient_times_input, guided_backprop, saliency
from cnnlens.attribution.occlusion import occlusion
from cnnlens.attribution.rules import RULES, relu_rule
from cnnlens.core.targets import Target, class_score, unit

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
    "integrated_gradients",
    "occlusion",
    "relu_rule",
    "saliency",
    "smoothgrad",
    "unit",
    "upsample",
]
