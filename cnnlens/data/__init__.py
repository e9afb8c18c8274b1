"""Data for cnnlens: the generated shape world with ground-truth concept masks, and user images.

User images are read into tensors by `load_image`; the shape world's pixel statistics (colour
covariance, mean image) by `shape_world_covariance` and `shape_world_mean`.
"""

from cnnlens.data.images import load_image
from cnnlens.data.shapeworld import (
    BACKGROUND_TONES,
    COLOR_RGB,
    COLORS,
    CONCEPT_NAMES,
    CONCEPTS,
    HEAD_CLASSES,
    HEADS,
    SHAPES,
    TEXTURES,
    Batch,
    Sample,
    ShapeObject,
    ShapeWorld,
)
from cnnlens.data.stats import shape_world_covariance, shape_world_mean

__all__ = [
    "BACKGROUND_TONES",
    "COLORS",
    "COLOR_RGB",
    "CONCEPTS",
    "CONCEPT_NAMES",
    "HEADS",
    "HEAD_CLASSES",
    "SHAPES",
    "TEXTURES",
    "Batch",
    "Sample",
    "ShapeObject",
    "ShapeWorld",
    "load_image",
    "shape_world_covariance",
    "shape_world_mean",
]
