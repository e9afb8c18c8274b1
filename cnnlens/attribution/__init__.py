"""Attribution (lectures 3 and 5): which pixels and units a network's output depends on.

One backprop engine with three ReLU rules and targets anywhere in the network; gradient maps, the
CAM family and occlusion.
"""

from cnnlens.attribution.averaged import integrated_gradients, smoothgrad
from cnnlens.attribution.cam import cam, grad_cam, guided_grad_cam, upsample
from cnnlens.attribution.contributions import ContributionGraph, contribution_graph, contributions
from cnnlens.attribution.engine import input_gradient
from cnnlens.attribution.evaluate import center_maps, mass_inside, pointing_game, random_maps
from cnnlens.attribution.maps import deconvnet, gradient_times_input, guided_backprop, saliency
from cnnlens.attribution.occlusion import occlusion
from cnnlens.attribution.patches import GradientPatches, gradient_patches
from cnnlens.attribution.rules import RULES, relu_rule
from cnnlens.attribution.sanity import randomization_check, rank_correlation, reinitialized
from cnnlens.core.targets import Target, class_score, unit

__all__ = [
    "RULES",
    "ContributionGraph",
    "GradientPatches",
    "Target",
    "cam",
    "center_maps",
    "class_score",
    "contribution_graph",
    "contributions",
    "deconvnet",
    "grad_cam",
    "gradient_patches",
    "gradient_times_input",
    "guided_backprop",
    "guided_grad_cam",
    "input_gradient",
    "integrated_gradients",
    "mass_inside",
    "occlusion",
    "pointing_game",
    "random_maps",
    "randomization_check",
    "rank_correlation",
    "reinitialized",
    "relu_rule",
    "saliency",
    "smoothgrad",
    "unit",
    "upsample",
]
