"""Lectures 3 and 5 widget: any attribution method for any image, target class and layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch

from cnnlens.attribution import (
    cam,
    deconvnet,
    grad_cam,
    gradient_times_input,
    guided_backprop,
    guided_grad_cam,
    integrated_gradients,
    occlusion,
    saliency,
    smoothgrad,
    upsample,
)
from cnnlens.attribution.targets import predicted
from cnnlens.core.capture import forward_until_done, images_for, normalize_for
from cnnlens.core.guard import preserved
from cnnlens.core.layers import ModelLike, as_net, list_layers
from cnnlens.plot import fit_scale, gradient_picture, heat, overlay, signed, to_numpy
from cnnlens.widgets.base import ResultCache, StatusLine, guarded
from cnnlens.widgets.filters import VIEW_PX, show_png
from cnnlens.widgets.picker import ImagePicker

Options = dict[str, object]


@dataclass(frozen=True)
class Method:
    """How to compute one image's map, how to draw it, and which controls it reads."""

    compute: Callable[[ModelLike, torch.Tensor, int, Options], torch.Tensor]
    kind: str  # "heat" (>= 0), "signed", or "rgb" (an input gradient, (3, H, W))
    uses: tuple[str, ...] = ()


def _resized(maps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return upsample(maps, x.shape[-2:])[0]


METHODS: dict[str, Method] = {
    "saliency": Method(lambda m, x, t, o: saliency(m, x, t)[0], "heat"),
    "gradient × input": Method(lambda m, x, t, o: gradient_times_input(m, x, t)[0], "signed"),
    "deconvnet": Method(lambda m, x, t, o: deconvnet(m, x, t)[0], "rgb"),
    "guided backprop": Method(lambda m, x, t, o: guided_backprop(m, x, t)[0], "rgb"),
    "SmoothGrad": Method(
        lambda m, x, t, o: (
            smoothgrad(m, x, t, noise=o["noise"], samples=o["samples"])[0].abs().amax(dim=0)
        ),
        "heat",
        ("noise", "samples"),
    ),
    "integrated gradients": Method(
        lambda m, x, t, o: integrated_gradients(m, x, t, steps=o["steps"])[0].sum(dim=0),
        "signed",
        ("steps",),
    ),
    "CAM": Method(lambda m, x, t, o: _resized(cam(m, x, t), x), "signed"),
    "Grad-CAM": Method(
        lambda m, x, t, o: _resized(grad_cam(m, x, t, o["layer"]), x), "heat", ("layer",)
    ),
    "guided Grad-CAM": Method(
        lambda m, x, t, o: guided_grad_cam(m, x, t, o["layer"])[0], "rgb", ("layer",)
    ),
    "occlusion": Method(
        lambda m, x, t, o: occlusion(m, x, t, window=o["window"], stride=o["stride"])[0],
        "signed",
        ("window", "stride"),
    ),
}
PREDICTED = -1


class AttributionExplorer(widgets.VBox):
    """Pick an image, a method, a target class (the prediction by default) and the method's
    settings; see the map over the image and on its own. Sliders act on release; every result is
    cached, so revisiting a setting is instant. Drive it through the controls' `.value`;
    `current` holds the displayed map, `status` the summary or error."""

    def __init__(self, model: ModelLike, method: str = "Grad-CAM", layer: str | None = None):
        self.model = model
        size = getattr(model, "input_size", 224)
        self.status = StatusLine()
        self.picker = ImagePicker(size, self.status)
        outputs = self._logits(self.picker.image).shape[1]
        names = getattr(model, "class_names", ()) or tuple(f"class {i}" for i in range(outputs))
        self.class_names = names
        self.method = widgets.Dropdown(options=list(METHODS), value=method, description="method")
        self.target = widgets.Dropdown(
            options=[("predicted class", PREDICTED), *((n, i) for i, n in enumerate(names))],
            value=PREDICTED,
            description="target",
        )
        spatial = [  # maps with real extent: a 1×1 layer (after global pooling) gives a flat map
            i.name
            for i in list_layers(model, size)
            if len(i.output_shape or ()) == 3 and min(i.output_shape[1:]) > 1
        ]
        slider = {"continuous_update": False, "style": {"description_width": "initial"}}
        self.options = {
            "layer": widgets.Dropdown(
                options=spatial, value=layer or spatial[-1], description="layer"
            ),
            "window": widgets.IntSlider(8, 2, size // 2, description="window", **slider),
            "stride": widgets.IntSlider(4, 1, size // 4, description="stride", **slider),
            "noise": widgets.FloatSlider(
                0.15, min=0.0, max=0.5, step=0.05, description="noise", **slider
            ),
            "samples": widgets.IntSlider(16, 1, 64, description="samples", **slider),
            "steps": widgets.IntSlider(32, 2, 128, description="steps", **slider),
        }
        self.opacity = widgets.FloatSlider(0.6, min=0.0, max=1.0, step=0.05, description="opacity")
        self.overlay_view, self.map_view = widgets.Image(format="png"), widgets.Image(format="png")
        self.current: torch.Tensor | None = None
        self._maps, self._predictions = ResultCache(), ResultCache()
        for control in (self.method, self.target, *self.options.values()):
            control.observe(self._refresh, "value")
        self.picker.observe_choice(self._refresh)
        self.opacity.observe(self._render, "value")
        views = widgets.HBox(
            [
                widgets.VBox([widgets.HTML("<b>map over the image</b>"), self.overlay_view]),
                widgets.VBox([widgets.HTML("<b>map</b>"), self.map_view]),
            ]
        )
        controls = widgets.HBox([self.method, self.target, self.opacity])
        super().__init__(
            [self.picker, controls, widgets.HBox(list(self.options.values())), views, self.status]
        )
        self._refresh()

    def target_class(self) -> int:
        """The chosen class, or the model's prediction for the chosen image."""
        if self.target.value != PREDICTED:
            return self.target.value
        key = self.picker.choice.value
        image = self.picker.image
        return self._predictions.get(key, lambda: predicted(self.model, self._logits(image))[0])

    def _logits(self, image: torch.Tensor) -> torch.Tensor:
        """The model's output for one image, (1, classes)."""
        net = as_net(self.model)
        x = normalize_for(self.model, images_for(self.model, image))
        with preserved(net), torch.no_grad():
            return forward_until_done(net, x)

    @guarded
    def _refresh(self, _change: dict | None = None) -> None:
        method = METHODS[self.method.value]
        for name, control in self.options.items():
            control.layout.display = "" if name in method.uses else "none"
        cls = self.target_class()
        settings = {name: self.options[name].value for name in method.uses}
        key = (self.picker.choice.value, self.method.value, cls, tuple(settings.items()))
        x = self.picker.image[None]
        self.current = self._maps.get(key, lambda: method.compute(self.model, x, cls, settings))
        self._render()
        self.status.show(
            f"{self.method.value} · target {self.class_names[cls]}"
            + (" (predicted)" if self.target.value == PREDICTED else "")
        )

    @guarded
    def _render(self, _change: dict | None = None) -> None:
        if self.current is None:
            return
        kind = METHODS[self.method.value].kind
        values = self.current.detach().cpu().numpy()
        image = to_numpy(self.picker.image)
        if kind == "rgb":
            picture, strength = (
                gradient_picture(np.moveaxis(values, 0, -1)),
                heat(np.abs(values).max(0)),
            )
        else:
            picture = heat(values) if kind == "heat" else signed(values)
            strength = picture
        scale = fit_scale(image.shape[0], VIEW_PX)
        show_png(self.overlay_view, overlay(image, strength, self.opacity.value), scale)
        show_png(self.map_view, picture, scale)
