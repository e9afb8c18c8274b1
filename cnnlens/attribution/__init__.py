"""Attribution (lectures 3 and 5): which pixels and units a network's output depends on.

One backprop engine with three ReLU rules and targets anywhere in the network; gradient maps, the
CAM family and occlusion.

Every attribution method returns a signed float tensor whose last two axes are rows and columns:

- (N, 3, H, W) where the method attributes to each colour channel of the (N, 3, H, W) input: the
  input gradient, deconvnet, guided backprop, SmoothGrad, integrated gradients, guided Grad-CAM;
- (N, H, W) where it attributes to a pixel position: saliency, gradient × input, occlusion;
- (N, h, w) at the layer's resolution for the CAM family (`cam`, `grad_cam`), as the papers define
  them.

`attribution_map` reduces the colour axis (if any) and resizes, so that any method's result becomes
an (N, H, W) map over the image, ready to overlay or to score (`pointing_game`, `mass_inside`).
"""

from cnnlens.attribution.averaged import integrated_gradients, smoothgrad
from cnnlens.attribution.cam import cam, grad_cam, guided_grad_cam
from cnnlens.attribution.contributions import ContributionGraph, contribution_graph, contributions
from cnnlens.attribution.engine import input_gradient
from cnnlens.attribution.evaluate import center_maps, mass_inside, pointing_game, random_maps
from cnnlens.attribution.maps import deconvnet, gradient_times_input, guided_backprop, saliency
from cnnlens.attribution.occlusion import occlusion
from cnnlens.attribution.patches import GradientPatches, gradient_patches
from cnnlens.attribution.reduce import REDUCTIONS, attribution_map, upsample
from cnnlens.attribution.rules import RULES, relu_rule
from cnnlens.attribution.sanity import randomization_check, rank_correlation, reinitialized
from cnnlens.core.targets import Target, class_score, unit

__all__ = [
    "REDUCTIONS",
    "RULES",
    "ContributionGraph",
    "GradientPatches",
    "Target",
    "attribution_map",
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
