"""ipywidgets front ends: controls → one cnnlens method call → a picture (no math here)."""

from cnnlens.widgets.attribution import AttributionExplorer
from cnnlens.widgets.backprop import BackpropExplorer
from cnnlens.widgets.filters import FeatureExplorer, FilterEvolution

__all__ = ["AttributionExplorer", "BackpropExplorer", "FeatureExplorer", "FilterEvolution"]
