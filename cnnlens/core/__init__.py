"""The probing core: layer addressing, capture with truncated forward, the model guard."""

from cnnlens.core.capture import Activations, capture, model_logits, output_names
from cnnlens.core.guard import Guard, preserved
from cnnlens.core.layers import (
    LayerInfo,
    as_net,
    feeding_conv,
    layer_aliases,
    list_layers,
    resolve_layer,
    resolve_layers,
)
from cnnlens.errors import CnnlensError

__all__ = [
    "Activations",
    "CnnlensError",
    "Guard",
    "LayerInfo",
    "as_net",
    "capture",
    "feeding_conv",
    "layer_aliases",
    "list_layers",
    "model_logits",
    "output_names",
    "preserved",
    "resolve_layer",
    "resolve_layers",
]
