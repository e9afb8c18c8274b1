"""Lecture 1 widgets: filters and feature maps of any layer, and filters over training."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from cnnlens.activations import FeatureMaps, feature_maps
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.layers import ModelLike, as_net, feeding_conv
from cnnlens.filters import filter_slices, filters_rgb, layer_filters
from cnnlens.models import checkpoint_names, load
from cnnlens.models.embedded import read_manifest
from cnnlens.plot import fit_scale, grid, level_scale, to_numpy
from cnnlens.widgets._base import (
    BaseWidget,
    ColourKey,
    ResultCache,
    busy,
    guarded,
    row,
    scaled,
    titled,
)
from cnnlens.widgets._controls import layer_control, spatial_layers, unit_controls
from cnnlens.widgets._picker import ImagePicker
from cnnlens.widgets._views import image_view, show_png

TILE_RATIO = 40 / 192  # a tile of the all-units overview, relative to the widget's size
FIRST_LAYER_KEY = "RGB weights, each filter scaled on its own: mid-gray = 0"
SLICES_KEY = "one slice per input channel, one scale: gray = 0, bright +, dark −"


def _filter_picture(weights: torch.Tensor, unit: int) -> np.ndarray:
    """One unit's filter: an RGB patch for a first layer, else a grid of per-channel slices."""
    if weights.shape[1] == 3:
        return filters_rgb(weights[unit : unit + 1])[0]
    return grid(filter_slices(weights, unit), pad=1, pad_value=0.0)


class FeatureExplorer(BaseWidget):
    """Lecture 1: an image's feature maps at a layer, one unit's map and its filter.

    Pick an image, a layer and a unit; see the layer's maps, the unit's map and its filter.
    Drive it from code or tests through `picker.choice`, `layer` and `unit` (their `.value`);
    `current` holds the displayed `FeatureMaps`, `status` the one-line summary or error.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer with (C, H, W) maps (name or alias); None for the first one.
        unit: The first unit shown; one out of range is said in the status line and the nearest is
            shown.
        size: Display width of the single views in pixels (64 … 2048); None for `default_size()`.

    Raises:
        CnnlensError: An unknown `layer` or one without (C, H, W) maps; a `size` outside 64 … 2048
            or not a whole number.
    """

    @legacy_calls(order=("self", "model", "layer", "unit", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        layer: str | None = None,
        unit: int = 0,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model, self.net = model, as_net(model)
        self.picker = ImagePicker.for_model(model, self.status)
        layers = spatial_layers(model)
        self.layer = layer_control(model, layer, layers, labelled=True)
        self.unit, self.unit_box, problem = unit_controls(
            self.layer, layers, self.status, unit, then=self._refresh
        )
        self.input_view, self.maps_view = image_view(), image_view()
        self.unit_view, self.filter_view = image_view(), image_view()
        self.filter_title = widgets.HTML()
        self.unit_key, self.maps_key, self.filter_key = ColourKey(), ColourKey(), ColourKey()
        self.current: FeatureMaps | None = None
        self._maps = ResultCache()
        self.picker.observe_choice(self._refresh)
        views = row(
            [
                titled("input", self.input_view, self.px),
                titled("this unit's feature map", widgets.VBox([self.unit_view, self.unit_key])),
                widgets.VBox([self.filter_title, self.filter_view, self.filter_key]),
            ]
        )
        maps = widgets.VBox([self.maps_view, self.maps_key])
        self._assemble(
            [
                self.picker,
                row([self.layer, self.unit, self.unit_box]),
                views,
                titled("all units of the layer (one shared scale)", maps),
            ],
            self._refresh,
            problem,
        )

    def exported_data(self) -> dict[str, torch.Tensor]:
        """The layer's maps shown, (C, H, W)."""
        return {} if self.current is None else {"maps": self.current.maps}

    @busy("computing the feature maps")
    def _refresh(self, _change: dict | None = None) -> None:
        image, layer, unit = self.picker.image, self.layer.value, self.unit.value
        key = (self.picker.choice.value, layer)
        fmaps = self._maps.get(key, lambda: feature_maps(self.model, image, layer))
        self.current = fmaps
        unit_map = fmaps.unit(unit).numpy()
        show_png(self.input_view, to_numpy(image), fit_scale(image.shape[-1], self.px))
        scale = level_scale(unit_map, "activation")
        unit_scale = fit_scale(unit_map.shape[-1], self.px)
        show_png(self.unit_view, scale.rgb(unit_map), unit_scale)
        self.unit_key.show(scale, unit_map.shape[-1] * unit_scale)
        overview = self._overview(fmaps.maps.numpy(), unit)
        show_png(self.maps_view, overview)
        self.maps_key.show(
            level_scale(fmaps.maps.numpy(), "activation"), min(overview.shape[1], 320)
        )
        self._show_filter(layer, unit, fmaps.maps.shape[0])
        note = f" · {fmaps.note}" if fmaps.note else ""
        self.status.show(
            f"{layer} · unit {unit} of {fmaps.maps.shape[0]} · "
            f"{unit_map.shape[0]}×{unit_map.shape[1]} map · "
            f"max {unit_map.max():.2f} · mean {unit_map.mean():.2f}{note}"
        )

    def _overview(self, maps: np.ndarray, unit: int) -> np.ndarray:
        """All maps as tiles of about TILE_RATIO × size, on one colour scale, `unit` framed.

        The scale is the signed one if any value is negative.
        """
        side, tile = maps.shape[-1], scaled(self.px, TILE_RATIO)
        step = max(1, side // tile)
        scale = fit_scale(-(-side // step), tile)
        tiles = level_scale(maps).rgb(maps[:, ::step, ::step])
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
        columns = max(8, round(np.sqrt(2 * len(tiles))))  # wider than tall, like a screen
        return grid(tiles, columns=columns, highlight=unit, pad=2)

    def _show_filter(self, layer: str, unit: int, channels: int) -> None:
        conv = feeding_conv(self.net, layer, channels)
        if conv is None:
            self.filter_title.value = "<b>filter</b><br>(no convolution feeds this layer)"
            self.filter_view.value = b""
            self.filter_view.layout.width = "0px"
            self.filter_key.line("")
            return
        weights = layer_filters(self.net, conv)
        picture = _filter_picture(weights, unit)
        kind = (
            "RGB" if weights.shape[1] == 3 else f"{weights.shape[1]} input-channel slices, gray = 0"
        )
        self.filter_title.value = f"<b>filter of {conv}, unit {unit}</b><br>({kind})"
        scale = fit_scale(picture.shape[0], self.px)
        show_png(self.filter_view, picture, scale)
        key = FIRST_LAYER_KEY if weights.shape[1] == 3 else SLICES_KEY
        self.filter_key.line(key, picture.shape[1] * scale)


class FilterEvolution(BaseWidget):
    """Lecture 1: first-layer filters of the embedded model at each shipped training checkpoint.

    Args:
        layer: A conv layer of the embedded model with 3 input channels (its filters are drawn as
            RGB).
        size: Display width of the filter grid in pixels (64 … 2048); None for twice
            `default_size()`.

    Raises:
        CnnlensError: A `size` outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(order=("self", "layer", "size"))
    def __init__(
        self,
        *,
        layer: str = "conv1",
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.layer = layer
        if size is None:  # the grid holds every filter: twice the course-wide size
            self.px *= 2
        self.names = checkpoint_names()
        self.checkpoint = widgets.SelectionSlider(
            options=self.names, value=self.names[-1], description="checkpoint"
        )
        self.view = image_view()
        self.key = ColourKey()
        self._pictures = ResultCache()
        self.checkpoint.observe(self._refresh, "value")
        self._assemble([self.checkpoint, self.view, self.key], self._refresh)

    def filters_at(self, name: str) -> np.ndarray:
        """The RGB filter grid of `layer` at checkpoint `name`."""
        weights = layer_filters(load("shapes", checkpoint=name), self.layer)
        return grid(filters_rgb(weights), pad=1)

    @guarded
    def _refresh(self, _change: dict | None = None) -> None:
        name = self.checkpoint.value
        picture = self._pictures.get(name, lambda: self.filters_at(name))
        scale = fit_scale(picture.shape[1], self.px)
        show_png(self.view, picture, scale)
        self.key.line(FIRST_LAYER_KEY, picture.shape[1] * scale)
        seen = read_manifest()["files"][name]["images_seen"]
        self.status.show(f"{self.layer} filters at {name}: after {seen:,} training images")
