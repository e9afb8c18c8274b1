"""Lecture 3 widget: one unit's gradient, deconvnet and guided-backprop images side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cnnlens.attribution import RULES, input_gradient, unit
from cnnlens.attribution.patches import GradientPatches, gradient_patches
from cnnlens.core._legacy import legacy_calls
from cnnlens.core._notes import collecting_notes
from cnnlens.core.layers import ModelLike
from cnnlens.core.targets import Target
from cnnlens.data._batches import Images
from cnnlens.plot import fit_scale, gradient_picture, to_numpy
from cnnlens.plot.stimuli import crop_grid
from cnnlens.widgets._base import BaseWidget, ColourKey, ResultCache, busy, row, scaled, titled
from cnnlens.widgets._controls import (
    dataset_or_default,
    layer_control,
    spatial_layers,
    unit_controls,
)
from cnnlens.widgets._picker import ImagePicker
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._scans import LayerScans
from cnnlens.widgets._views import image_view, show_placeholder, show_png

PATCH_GRID_RATIO = 260 / 192  # each 3 × 3 patch grid, relative to the widget's size
GRADIENT_KEY = (
    "RGB gradient, one scale per picture: mid-gray = 0, brighter/colour = sign per channel"
)
TITLES = {"gradient": "gradient", "deconvnet": "deconvnet", "guided": "guided backprop"}


class BackpropExplorer(BaseWidget):
    """Lecture 3: one unit's gradient, deconvnet and guided-backprop images side by side.

    Pick an image, a layer and a unit (channel, mean over positions): see what each of the three
    ReLU rules sends back to the pixels. Below, after a Scan of the dataset: the unit's top crops
    beside their guided-backprop patches. Drive it through `picker.choice`, `layer`, `unit` and
    `scan()`; `current` maps each rule to its (3, H, W) gradient, `patches` holds the last
    GradientPatches shown. The rules: Zeiler & Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901;
    Springenberg et al., ICLR 2015, https://arxiv.org/abs/1412.6806.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer with (C, H, W) maps (name or alias); None for the last one.
        unit: The first unit shown; one out of range is said in the status line and the nearest is
            shown.
        images: The dataset to scan: a `ShapeWorld`, a dataset or an (N, 3, H, W) float tensor in
            [0, 1]; None for the held-out shape-world probe set.
        background: Scan on a background thread (False: in the foreground, for tests).
        size: Display width of the input and gradient views in pixels (64 … 2048); None for
            `default_size()`.

    Raises:
        CnnlensError: An unknown `layer` or one without (C, H, W) maps; empty or malformed `images`;
            a `size` outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(
        order=("self", "model", "layer", "unit_index", "images", "background", "size"),
        renamed={"unit_index": "unit"},
    )
    def __init__(
        self,
        model: ModelLike,
        *,
        layer: str | None = None,
        unit: int = 0,
        images: Images | None = None,
        background: bool = True,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model = model
        self.patch_px = scaled(self.px, PATCH_GRID_RATIO)
        self.picker = ImagePicker.for_model(model, self.status)
        layers = spatial_layers(model)
        self.layer = layer_control(model, layer, layers, last=True)
        self.unit, self.unit_box, problem = unit_controls(
            self.layer, layers, self.status, unit, then=self._refresh, continuous_update=False
        )
        self.views = {rule: image_view() for rule in RULES}
        self.current: dict[str, Any] = {}
        self._results = ResultCache()
        self.picker.observe_choice(self._refresh)
        self.input_view = image_view()
        self.key = ColourKey()
        columns = [titled("input", self.input_view)]
        columns += [titled(TITLES[rule], view) for rule, view in self.views.items()]
        self.images = dataset_or_default(model, images)
        self.patches: GradientPatches | None = None
        self.runner = Runner(self.status, "Scan for top examples", background, run=self.scan)
        self.scans = LayerScans(model, self.images, self.runner, self._refresh, k=9)
        self.crops_view, self.patches_view = image_view(), image_view()
        patch_row = row(
            [
                titled("top dataset crops", self.crops_view),
                titled("their guided backprop", self.patches_view),
            ]
        )
        self._assemble(
            [
                self.picker,
                row([self.layer, self.unit, self.unit_box]),
                row(columns),
                self.key,
                self.runner,
                patch_row,
            ],
            self._refresh,
            problem,
        )

    def scan(self) -> None:
        """Find the top examples of every unit of the current layer (then patches are instant)."""
        self.scans.start(self.layer.value)

    def exported_data(self) -> dict[str, torch.Tensor]:
        """Each rule's input gradient shown, (3, H, W), and the patches' gradients if shown."""
        data = {f"gradient-{rule}": gradient for rule, gradient in self.current.items()}
        if self.patches is not None:
            data["patch-gradients"] = self.patches.gradients
        return data

    @busy("computing the three gradients")
    def _refresh(self, _change: dict | None = None) -> None:
        image, layer, channel = self.picker.image, self.layer.value, self.unit.value
        key = (self.picker.choice.value, layer, channel)
        target = unit(layer, channel)
        self.current, notes = self._results.get(key, lambda: self._gradients(image, target))
        scale = fit_scale(image.shape[-1], self.px)
        show_png(self.input_view, to_numpy(image), scale)
        for rule, gradient in self.current.items():
            show_png(self.views[rule], gradient_picture(to_numpy(gradient)), scale)
        self.key.line(GRADIENT_KEY)
        self.status.show(
            " · ".join([f"{layer} · unit {channel} (mean over positions) · gray = 0", *notes])
        )
        self._show_patches(layer, channel)

    def _gradients(self, image: torch.Tensor, target: Target) -> tuple[dict, list[str]]:
        """Each rule's (3, H, W) gradient, and the rules' notes (activations left as they are)."""
        with collecting_notes() as notes:
            gradients = {
                r: input_gradient(self.model, image[None], target, rule=r)[0] for r in RULES
            }
        return gradients, notes

    def _show_patches(self, layer: str, channel: int) -> None:
        top = self.scans.get(layer)
        if top is None:
            self.patches = None
            press = f"press Scan for the top examples of {layer} and their guided backprop"
            for view in (self.crops_view, self.patches_view):
                show_placeholder(view, press, self.patch_px)
            return
        with collecting_notes():  # the guided rule's note is in the status line already
            self.patches = gradient_patches(self.model, top, channel, images=self.images)
        crops = crop_grid(self.patches.crops)
        guided = crop_grid(
            np.stack([gradient_picture(g) for g in to_numpy(self.patches.gradients)])
        )
        scale = fit_scale(crops.shape[1], self.patch_px)
        show_png(self.crops_view, crops, scale)
        show_png(self.patches_view, guided, scale)
