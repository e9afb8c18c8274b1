"""cnnlens: see how convolutional networks see — probing methods, widgets and a course, offline."""

from cnnlens.core import Activations, CnnlensError, LayerInfo, capture, list_layers, resolve_layer
from cnnlens.core.progress import Cancelled
from cnnlens.errors import CnnlensWarning
from cnnlens.models import LoadedModel, load

__version__ = "1.0.0"

__all__ = [
    "Activations",
    "Cancelled",
    "CnnlensError",
    "CnnlensWarning",
    "LayerInfo",
    "LoadedModel",
    "capture",
    "list_layers",
    "load",
    "resolve_layer",
]
