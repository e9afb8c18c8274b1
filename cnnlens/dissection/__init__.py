"""Lecture 8, Network Dissection: count the units of a layer that detect a probe-set concept.

Bau et al., Network Dissection: Quantifying Interpretability of Deep Visual Representations, CVPR
2017, https://arxiv.org/abs/1704.05796.
"""

from cnnlens.dissection.broden import BrodenProbe
from cnnlens.dissection.dissect import dissect, dissect_layers  # noqa: F401  (0.x name)
from cnnlens.dissection.probes import ProbeBatch, ProbeSet, ShapeWorldProbe
from cnnlens.dissection.quantile import TailQuantile
from cnnlens.dissection.report import to_csv, to_html
from cnnlens.dissection.result import Dissection, UnitLabel

__all__ = [
    "BrodenProbe",
    "Dissection",
    "ProbeBatch",
    "ProbeSet",
    "ShapeWorldProbe",
    "TailQuantile",
    "UnitLabel",
    "dissect",
    "to_csv",
    "to_html",
]
