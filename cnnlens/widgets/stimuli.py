"""Lecture 2 widget: a unit's top dataset examples as receptive-field crops."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.layers import ModelLike
from cnnlens.data._batches import Images, image_count, images_at
from cnnlens.plot import fit_scale
from cnnlens.plot.images import grid
from cnnlens.plot.stimuli import boxed, crop_grid
from cnnlens.stimuli import receptive_field
from cnnlens.stimuli.crops import unit_crops
from cnnlens.widgets._base import BaseWidget, ColourKey, guarded, row, scaled, titled
from cnnlens.widgets._controls import (
    dataset_or_default,
    layer_control,
    spatial_layers,
    unit_controls,
)
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._scans import LayerScans
from cnnlens.widgets._views import image_view, show_placeholder, show_png

GRID_RATIO = 300 / 192  # each grid's width, relative to the widget's size
FIELD_KEY = "white-and-black frame: the part of the image the unit sees (its receptive field)"
MAX_K = 16


class StimuliExplorer(BaseWidget):
    """Lecture 2: a unit's top dataset examples as receptive-field crops.

    Pick a layer, press Scan (one pass over the dataset, with progress and Cancel), then browse
    units instantly: each unit's top-k crops and, below, the images they were cut from with the
    field outlined. Drive it through `layer`, `unit`, `k`, `overlay` and `scan()`; `current` holds
    the last crops shown. Zeiler & Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        images: The dataset to scan: a `ShapeWorld`, a dataset or an (N, 3, H, W) float tensor in
            [0, 1]; None for the held-out shape-world probe set.
        layer: A layer with (C, H, W) maps (name or alias); None for the last one.
        background: Scan on a background thread (False: in the foreground, for tests).
        size: Display size in pixels (64 … 2048): each grid is about 1.5 × `size` wide; None for
            `default_size()`.

    Raises:
        CnnlensError: Empty or malformed `images`; an unknown `layer` or one without (C, H, W) maps;
            a `size` outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(order=("self", "model", "images", "layer", "background", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        images: Images | None = None,
        layer: str | None = None,
        background: bool = True,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model = model
        self.grid_px = scaled(self.px, GRID_RATIO)
        self.images = dataset_or_default(model, images)
        layers = spatial_layers(model)
        self.layer = layer_control(model, layer, layers, last=True)
        self.unit, self.unit_box, _ = unit_controls(
            self.layer, layers, self.status, then=self._refresh, continuous_update=False
        )
        most = min(MAX_K, image_count(self.images))
        self.k = widgets.IntSlider(min(9, most), 1, most, description="k", continuous_update=False)
        self.overlay = widgets.Checkbox(False, description="light by activation")
        self.runner = Runner(self.status, "Scan", background, run=self.scan)
        self.crops_view = image_view()
        self.sources_view = image_view()
        self.key = ColourKey()
        self.scans = LayerScans(model, self.images, self.runner, self._refresh, MAX_K)
        self.current: torch.Tensor | None = None
        for control in (self.k, self.overlay):
            control.observe(self._refresh, "value")
        sources = widgets.VBox([self.sources_view, self.key])
        self._assemble(
            [
                row([self.layer, self.runner]),
                row([self.unit, self.unit_box, self.k, self.overlay]),
                row(
                    [
                        titled("top crops, best first", self.crops_view),
                        titled("the images they come from", sources),
                    ]
                ),
            ],
            self._refresh,
        )

    def exported_data(self) -> dict[str, torch.Tensor]:
        """The unit's top crops shown, (k, 3, S, S) in [0, 1]."""
        return {} if self.current is None else {"crops": self.current}

    def scan(self) -> None:
        """Scan the dataset for the current layer (in the background unless told otherwise)."""
        self.scans.start(self.layer.value)

    @guarded
    def _refresh(self, _change: dict | None = None) -> None:
        top = self.scans.get(self.layer.value)
        if top is None:
            self.current = None
            press = f"press Scan to find the top examples of {self.layer.value}"
            for view in (self.crops_view, self.sources_view):
                show_placeholder(view, press, self.grid_px)
            self.status.show(press)
            return
        top = top.first(self.k.value)
        unit = self.unit.value
        crops = unit_crops(self.model, top, unit, images=self.images, overlay=self.overlay.value)
        self.current = crops
        columns = 3 if self.k.value <= 9 else 4
        picture = crop_grid(crops, columns)
        show_png(self.crops_view, picture, fit_scale(picture.shape[1], self.grid_px))
        field = receptive_field(self.model, top.layer)
        sources = images_at(self.images, top.indices[unit].tolist())
        framed = [
            boxed(image, field.box(y, x))
            for image, (y, x) in zip(sources, top.positions[unit].tolist(), strict=True)
        ]
        overview = grid(np.stack(framed), columns)
        scale = fit_scale(overview.shape[1], self.grid_px)
        show_png(self.sources_view, overview, scale)
        self.key.line(FIELD_KEY, overview.shape[1] * scale)
        best = top.values[unit, 0].item()
        self.status.show(
            f"{top.layer} unit {unit}: top {top.k} of {top.scanned} images "
            f"(best {best:.2f}, dataset mean {top.mean[unit].item():.2f}); "
            f"field {field.size}×{field.size} px"
        )
