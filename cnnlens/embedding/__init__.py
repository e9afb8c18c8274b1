"""Lecture 7: the feature space — features of a dataset, nearest neighbours, t-SNE."""

from cnnlens.embedding.features import (
    Features,
    dataset_features,
    feature_layer_label,
    last_feature_layer,  # noqa: F401  (0.x name)
    last_linear_layer,
)
from cnnlens.embedding.neighbours import knn_agreement, nearest
from cnnlens.embedding.tsne import tsne

__all__ = [
    "Features",
    "dataset_features",
    "feature_layer_label",
    "knn_agreement",
    "last_linear_layer",
    "nearest",
    "tsne",
]
