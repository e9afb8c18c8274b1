"""Lecture 3 widget: one unit's gradient, deconvnet and guided-backprop images side by side."""

from __future__ import annotations

import ipywidgets as widgets

from cnnlens.attribution import RULES, input_gradient, unit
from cnnlens.core.layers import ModelLike, list_layers
from cnnlens.plot import fit_scale, gradient_picture, to_numpy
from cnnlens.widgets.base import ResultCache, StatusLine, fit_unit_slider, guarded
from cnnlens.widgets.filters import VIEW_PX, show_png
from cnnlens.widgets.picker import ImagePicker

TITLES = {"gradient": "gradient", "deconvnet": "deconvnet", "guided": "guided backprop"}


class BackpropExplorer(widgets.VBox):
    """Pick an image, a layer and a unit (channel, mean over positions): see what each of the
    three ReLU rules sends back to the pixels. Drive it through `picker.choice`, `layer` and
    `unit`; `current` maps each rule to its (3, H, W) gradient."""

    def __init__(self, model: ModelLike, layer: str | None = None, unit_index: int = 0) -> None:
        self.model = model
        size = getattr(model, "input_size", 224)
        self.status = StatusLine()
        self.picker = ImagePicker(size, self.status)
        spatial = [i for i in list_layers(model, size) if len(i.output_shape or ()) == 3]
        self.channels = {i.name: i.output_shape[0] for i in spatial}
        names = [i.name for i in spatial]
        self.layer = widgets.Dropdown(options=names, value=layer or names[-1], description="layer")
        self.unit = widgets.IntSlider(
            value=unit_index,
            min=0,
            max=self.channels[self.layer.value] - 1,
            description="unit",
            continuous_update=False,
        )
        self.views = {rule: widgets.Image(format="png") for rule in RULES}
        self.current: dict[str, object] = {}
        self._results = ResultCache()
        self.picker.observe_choice(self._refresh)
        self.layer.observe(self._on_layer, "value")
        self.unit.observe(self._refresh, "value")
        self.input_view = widgets.Image(format="png")
        columns = [widgets.VBox([widgets.HTML("<b>input</b>"), self.input_view])]
        columns += [
            widgets.VBox([widgets.HTML(f"<b>{TITLES[rule]}</b>"), view])
            for rule, view in self.views.items()
        ]
        super().__init__(
            [self.picker, widgets.HBox([self.layer, self.unit]), widgets.HBox(columns), self.status]
        )
        self._refresh()

    @guarded
    def _on_layer(self, change: dict) -> None:
        fit_unit_slider(self.unit, self.channels[change["new"]])
        self._refresh()

    @guarded
    def _refresh(self, _change: dict | None = None) -> None:
        image, layer, channel = self.picker.image, self.layer.value, self.unit.value
        key = (self.picker.choice.value, layer, channel)
        target = unit(layer, channel)
        self.current = self._results.get(
            key, lambda: {r: input_gradient(self.model, image[None], target, r)[0] for r in RULES}
        )
        scale = fit_scale(image.shape[-1], VIEW_PX)
        show_png(self.input_view, to_numpy(image), scale)
        for rule, gradient in self.current.items():
            show_png(self.views[rule], gradient_picture(to_numpy(gradient)), scale)
        self.status.show(f"{layer} · unit {channel} (mean over positions) · gray = 0")
