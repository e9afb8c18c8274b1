"""ipywidgets front ends: controls → one cnnlens method call → a picture (no math here).

`set_default_size(pixels)` sets the display size of every widget created afterwards (each also takes
`size=`); pictures are rendered at that size, not stretched by the browser.
"""

from cnnlens.widgets._base import default_size, set_default_size
from cnnlens.widgets.attribution import AttributionExplorer
from cnnlens.widgets.backprop import BackpropExplorer
from cnnlens.widgets.dissection import DissectionBrowser
from cnnlens.widgets.embedding import EmbeddingExplorer, NeighboursExplorer
from cnnlens.widgets.featurevis import FeatureVisualizer
from cnnlens.widgets.filters import FeatureExplorer, FilterEvolution
from cnnlens.widgets.inversion import InversionExplorer
from cnnlens.widgets.stimuli import StimuliExplorer

__all__ = [
    "AttributionExplorer",
    "BackpropExplorer",
    "DissectionBrowser",
    "EmbeddingExplorer",
    "FeatureExplorer",
    "FeatureVisualizer",
    "FilterEvolution",
    "InversionExplorer",
    "NeighboursExplorer",
    "StimuliExplorer",
    "default_size",
    "set_default_size",
]
