"""Lecture 4, activation maximization: the render engine and what it puts together.

Objectives, image parameterizations, transforms, regularizers and start images. Olah et al., Feature
Visualization, Distill 2017, https://distill.pub/2017/feature-visualization/; Lucid,
https://github.com/tensorflow/lucid.
"""

from cnnlens.data import shape_world_covariance  # noqa: F401  (0.x location; cnnlens.data's)
from cnnlens.featurevis.init import gray, mean_image, multifaceted, strongest_images
from cnnlens.featurevis.leaky import leaky_relus
from cnnlens.featurevis.objectives import (
    OUTPUT,
    Objective,
    as_objective,
    channel,
    channel_interpolation,
    class_logit,
    class_probability,
    direction,
    diversity,
    layer_energy,
    neuron,
)
from cnnlens.featurevis.params import Param, ParamImage, color_sqrt
from cnnlens.featurevis.regularizers import AlphaNorm, Blur, Regularizer, TotalVariation, l1, l2
from cnnlens.featurevis.render import Rendering, render
from cnnlens.featurevis.transforms import (
    Geometric,
    center,
    compose,
    gaussian_blur,
    jitter,
    pad,
    resize,
    rotate,
    scale,
    standard,
)

__all__ = [
    "OUTPUT",
    "AlphaNorm",
    "Blur",
    "Geometric",
    "Objective",
    "Param",
    "ParamImage",
    "Regularizer",
    "Rendering",
    "TotalVariation",
    "as_objective",
    "center",
    "channel",
    "channel_interpolation",
    "class_logit",
    "class_probability",
    "color_sqrt",
    "compose",
    "direction",
    "diversity",
    "gaussian_blur",
    "gray",
    "jitter",
    "l1",
    "l2",
    "layer_energy",
    "leaky_relus",
    "mean_image",
    "multifaceted",
    "neuron",
    "pad",
    "render",
    "resize",
    "rotate",
    "scale",
    "standard",
    "strongest_images",
]
