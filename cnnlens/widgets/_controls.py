"""The controls a widget on a model shares: its dataset, a layer control, a unit slider and box.

A layer control offers the model's layers with (C, H, W) maps (`spatial_layers`) and starts at the
widget's `layer=` argument; a unit slider follows it, fitting its range to the chosen layer's
channels, with a box beside it to type a unit into (`unit_controls`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import torch

from cnnlens.core._inputs import as_index, check_images
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import LayerInfo, ModelLike, list_layers, resolve_layer
from cnnlens.data._batches import Images, image_count
from cnnlens.errors import CnnlensError
from cnnlens.stimuli import default_probe_set
from cnnlens.widgets._base import StatusLine

WITH_MAPS = "layers with (C, H, W) maps"


def slider_options() -> dict[str, Any]:
    """Options for a slider that acts on release and gives its description the room it needs."""
    return {"continuous_update": False, "style": {"description_width": "initial"}}


def spatial_layers(model: ModelLike, *, min_side: int = 1) -> dict[str, LayerInfo]:
    """The model's layers with (C, H, W) maps per image, by path, in `named_modules()` order.

    From one dummy forward at the model's input size. Only maps at least `min_side` high and wide
    (2 leaves out the 1×1 maps after global pooling: one flat value each).
    """
    layers = {}
    for info in list_layers(model):
        shape = info.output_shape or ()
        if len(shape) == 3 and min(shape[1:]) >= min_side:
            layers[info.name] = info
    return layers


def layer_control(
    model: ModelLike,
    layer: str | None,
    layers: Mapping[str, LayerInfo],
    *,
    last: bool = False,
    labelled: bool = False,
    offered: str = WITH_MAPS,
    kind: Callable[..., widgets.ValueWidget] = widgets.Dropdown,
    **options: Any,
) -> widgets.ValueWidget:
    """A control described "layer" (a dropdown unless `kind` says otherwise) offering `layers`.

    It starts at the widget's `layer` argument, resolved to its path (an unknown layer, or one not
    among `layers`, raises CnnlensError naming `offered`), or for None at the first of `layers` (the
    last one with `last`). `labelled` options name each layer with its type and shape ("conv2
    (Conv2d, 48×32×32)"); `options` go to the control (`continuous_update`, `style`).
    """
    names = list(layers)
    value = _chosen_layer(model, layer, names, names[-1 if last else 0], offered)
    choices = [(_label(layers[name]), name) for name in names] if labelled else names
    return kind(options=choices, value=value, description="layer", **options)


def _label(info: LayerInfo) -> str:
    """A layer as a dropdown says it: its alias or path, its type and its output shape."""
    return f"{info.alias or info.name} ({info.type}, {'×'.join(map(str, info.output_shape or ()))})"


def unit_controls(
    layer: widgets.ValueWidget,
    layers: Mapping[str, LayerInfo],
    status: StatusLine,
    unit: object = 0,
    then: Callable[[], object] | None = None,
    **options: Any,
) -> tuple[widgets.IntSlider, widgets.IntText, CnnlensError | None]:
    """A unit slider for the layer chosen in `layer`, a box to type a unit into, and `unit`'s error.

    The slider (described "unit", with `options`) starts at `unit`; a unit out of range starts it at
    the nearest one, and the error, for the widget's status line once it has drawn, says so. The
    slider fits its range to each layer chosen, and `then` (the widget's redraw) runs after every
    change of layer or unit.
    """

    def units(name: str) -> int:
        return (layers[name].output_shape or (0,))[0]

    start, problem = _first_unit(unit, units(layer.value), layer.value)
    slider = widgets.IntSlider(start, 0, units(layer.value) - 1, description="unit", **options)
    box = _unit_box(slider, status, lambda: layer.value)
    _follow_layer(layer, slider, units, then)
    if then is not None:
        slider.observe(lambda _: then(), "value")
    return slider, box, problem


def dataset_or_default(model: ModelLike, images: Images | None) -> Images:
    """The images a widget scans: `images`, or the held-out shape-world probe set when None.

    The probe set is at the model's input size. Never `images or ...`: a tensor has no truth value.
    Raises CnnlensError for an empty collection or a tensor that is not an (N, 3, H, W) batch.
    """
    if images is None:
        return default_probe_set(size=_as_handle(model).input_size)
    if isinstance(images, torch.Tensor):
        images = check_images(images)
    if image_count(images) == 0:
        raise CnnlensError("no images given: pass at least one, or None for the default set")
    return images


def _chosen_layer(
    model: ModelLike,
    layer: str | None,
    options: Sequence[str],
    default: str,
    offered: str = WITH_MAPS,
) -> str:
    """The layer dropdown's first value for a widget's `layer` argument.

    A name or alias resolved to its path, `default` for None. Raises CnnlensError for an unknown
    layer or one the widget does not offer (`offered` says which it offers), instead of the
    dropdown's raw "value not found".
    """
    if layer is None:
        return default
    path = resolve_layer(model, layer)
    if path not in options:
        raise CnnlensError(
            f"layer {path!r} is not one of this widget's {offered} "
            f"({len(options)}: {options[0]!r} … {options[-1]!r})"
        )
    return path


def _first_unit(unit: object, units: int, layer: str) -> tuple[int, CnnlensError | None]:
    """The unit slider's first value for a widget's `unit` argument, and an error if out of range.

    When the unit lies outside 0..units-1, the error is for the status line (the slider then starts
    at the nearest unit rather than silently at another one).
    """
    index = as_index(unit)
    if 0 <= index < units:
        return index, None
    nearest = min(max(index, 0), units - 1)
    return nearest, CnnlensError(
        f"unit {index} out of range: {layer!r} has units 0..{units - 1}; showing unit {nearest}"
    )


def _unit_box(
    slider: widgets.IntSlider, status: StatusLine, layer: Callable[[], str]
) -> widgets.IntText:
    """A box to type a unit into beside `slider`.

    The slider's readout clamps a typed 999 to the last unit in the browser, without a word: here a
    unit past the end is said in `status`, and the slider goes to the nearest unit. The box shares
    the slider's layout, so it hides and shows with it.
    """
    box = widgets.IntText(slider.value, layout=slider.layout)

    def typed(change: dict) -> None:
        nearest, problem = _first_unit(change["new"], slider.max + 1, layer())
        slider.value = box.value = nearest
        if problem is not None:
            status.error(problem)

    box.observe(typed, "value")
    slider.observe(lambda change: setattr(box, "value", change["new"]), "value")
    return box


def _fit_unit_slider(slider: widgets.IntSlider, units: int) -> None:
    """Give a unit slider the range 0..units-1, keeping its value when it still fits."""
    with slider.hold_trait_notifications():
        slider.value = min(slider.value, units - 1)
        slider.max = units - 1


def _follow_layer(
    layer: widgets.ValueWidget,
    slider: widgets.IntSlider,
    units: Callable[[str], int],
    then: Callable[[], object] | None = None,
) -> None:
    """Whenever another layer is chosen, fit `slider` to its `units(layer)` channels.

    Then call `then` (the widget's redraw).
    """

    def follow(change: dict) -> None:
        _fit_unit_slider(slider, units(change["new"]))
        if then is not None:
            then()

    layer.observe(follow, "value")
