"""Lecture 2: what a unit responds to — receptive fields and its top dataset examples."""

from cnnlens.stimuli.crops import crop, unit_crops
from cnnlens.stimuli.discrepancy import EmpiricalField, empirical_field
from cnnlens.stimuli.receptive import ReceptiveField, receptive_field
from cnnlens.stimuli.topk import TopExamples, default_probe_set, top_examples

__all__ = [
    "EmpiricalField",
    "ReceptiveField",
    "TopExamples",
    "crop",
    "default_probe_set",
    "empirical_field",
    "receptive_field",
    "top_examples",
    "unit_crops",
]
