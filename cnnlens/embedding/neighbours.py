"""Nearest neighbours in feature space and in pixel space, and how often they share a label."""

from __future__ import annotations

import torch
from sklearn.neighbors import NearestNeighbors

from cnnlens.core._legacy import legacy_calls
from cnnlens.errors import CnnlensError


@legacy_calls(order=("points", "queries", "k", "normalize"))
def nearest(
    points: torch.Tensor, queries: torch.Tensor, *, k: int, normalize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest `points` to each query, nearest first.

    Args:
        points: (P, ...) tensor: feature vectors or images (flattened to rows).
        queries: (Q, ...) tensor of the same dimension per row.
        k: Neighbours per query, 1 to P.
        normalize: Scale vectors to unit length first (see `_flat`): L2 distance then ranks like the
            cosine.

    Returns:
        (indices, distances): (Q, k) int64 indices into `points` and (Q, k) float L2 distances.

    Raises:
        CnnlensError: `k` is out of range; the dimensions differ; NaN or infinite values.
    """
    points, queries = _flat(points, normalize), _flat(queries, normalize)
    if not 1 <= k <= len(points):
        raise CnnlensError(f"k must be between 1 and {len(points)}, got {k}")
    if queries.shape[1] != points.shape[1]:
        raise CnnlensError(
            f"queries have {queries.shape[1]} dimensions, the points {points.shape[1]}"
        )
    index = NearestNeighbors(n_neighbors=k).fit(points.numpy())
    distances, indices = index.kneighbors(queries.numpy())
    return torch.from_numpy(indices), torch.from_numpy(distances).float()


@legacy_calls(order=("points", "labels", "k", "normalize"))
def knn_agreement(
    points: torch.Tensor, labels: torch.Tensor, *, k: int = 5, normalize: bool = True
) -> float:
    """Mean fraction of each point's k nearest other points that share its label.

    Args:
        points: (N, ...) tensor: feature vectors or images (flattened to rows).
        labels: (N,) integer labels.
        k: Neighbours per point, 1 to N - 1.
        normalize: Scale vectors to unit length first.

    Returns:
        The agreement, in [0, 1].

    Raises:
        CnnlensError: The number of labels differs from the number of points; `k` is out of range;
            NaN or infinite values.
    """
    points = _flat(points, normalize)
    if len(labels) != len(points):
        raise CnnlensError(f"{len(labels)} labels for {len(points)} points")
    if not 1 <= k < len(points):
        raise CnnlensError(f"k must be between 1 and {len(points) - 1} for {len(points)} points")
    index = NearestNeighbors(n_neighbors=k + 1).fit(points.numpy())
    _, neighbours = index.kneighbors(points.numpy())
    # A point's own entry is normally first, but exact duplicates may swap places with it.
    others = torch.from_numpy(neighbours)
    own = others == torch.arange(len(points))[:, None]
    keep = torch.where(own.any(dim=1, keepdim=True), ~own, torch.arange(k + 1) < k)
    others = others[keep].reshape(len(points), k)
    return float((labels[others] == labels[:, None]).float().mean())


def _flat(values: torch.Tensor, normalize: bool) -> torch.Tensor:
    """Rows of floats on the CPU (images become pixel vectors), optionally of unit length.

    A vector's length mostly says how strongly the image drives the layer (its contrast), its
    direction what it contains, so unit-length L2 distance (the cosine) compares content. Raises
    CnnlensError for NaN or infinite values.
    """
    rows = values.detach().reshape(len(values), -1).float().cpu()
    if not torch.isfinite(rows).all():
        raise CnnlensError("the points contain NaN or infinite values")
    return torch.nn.functional.normalize(rows, dim=1) if normalize else rows
