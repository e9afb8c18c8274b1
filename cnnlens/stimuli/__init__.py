"""Lecture 2: what a unit responds to — receptive fields and its top dataset examples."""

from cnnlens.stimuli.receptive import ReceptiveField, receptive_field
from cnnlens.stimuli.topk import TopExamples, default_probe_set, top_examples

__all__ = ["ReceptiveField", "TopExamples", "default_probe_set", "receptive_field", "top_examples"]
