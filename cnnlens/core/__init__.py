"""The probing core: layer addressing, capture with truncated forward, the model guard."""

from cnnlens.core.capture import Activations, capture, model_logits
from cnnlens.core.guard import preserved
from cnnlens.core.layers import LayerInfo, as_net, list_layers, resolve_layer
from cnnlens.errors import CnnlensError

__all__ = [
    "Activations",
    "CnnlensError",
    "LayerInfo",
    "as_net",
    "capture",
    "list_layers",
    "model_logits",
    "preserved",
    "resolve_layer",
]
