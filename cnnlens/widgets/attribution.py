"""Lectures 3 and 5 widget: any attribution method for any image, target class and layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch

from cnnlens.attribution import (
    attribution_map,
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
)
from cnnlens.core._legacy import legacy_calls
from cnnlens.core._notes import collecting_notes
from cnnlens.core.capture import model_logits, output_names
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike
from cnnlens.core.progress import Progress
from cnnlens.core.targets import _predicted
from cnnlens.errors import CnnlensError
from cnnlens.plot import (
    Scale,
    fit_scale,
    gradient_picture,
    heat_scale,
    overlay,
    signed_scale,
    to_numpy,
)
from cnnlens.widgets._base import BaseWidget, ColourKey, ResultCache, guarded, row, scaled, titled
from cnnlens.widgets._controls import layer_control, slider_options, spatial_layers
from cnnlens.widgets._picker import ImagePicker
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._views import image_view, show_png

Options = dict[str, Any]


@dataclass(frozen=True)
class _Method:
    """How to compute one image's map, how to draw it, and which controls it reads."""

    compute: Callable[[ModelLike, torch.Tensor, int, Options, Progress | None], torch.Tensor]
    kind: str  # "heat" (>= 0), "signed", or "rgb" (an input gradient, (3, H, W))
    uses: tuple[str, ...] = ()


def _resized(maps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """One image's map at the image's resolution."""
    return attribution_map(maps, size=(x.shape[-2], x.shape[-1]))[0]


METHODS: dict[str, _Method] = {
    "saliency": _Method(lambda m, x, t, o, p: saliency(m, x, t)[0], "heat"),
    "gradient × input": _Method(lambda m, x, t, o, p: gradient_times_input(m, x, t)[0], "signed"),
    "deconvnet": _Method(lambda m, x, t, o, p: deconvnet(m, x, t)[0], "rgb"),
    "guided backprop": _Method(lambda m, x, t, o, p: guided_backprop(m, x, t)[0], "rgb"),
    "SmoothGrad": _Method(
        lambda m, x, t, o, p: attribution_map(
            smoothgrad(m, x, t, noise=o["noise"], samples=o["samples"], progress=p)
        )[0],
        "heat",
        ("noise", "samples"),
    ),
    "integrated gradients": _Method(
        lambda m, x, t, o, p: attribution_map(
            integrated_gradients(m, x, t, steps=o["steps"], progress=p), reduce="sum"
        )[0],
        "signed",
        ("steps",),
    ),
    "CAM": _Method(lambda m, x, t, o, p: _resized(cam(m, x, t), x), "signed"),
    "Grad-CAM": _Method(
        lambda m, x, t, o, p: _resized(grad_cam(m, x, o["layer"], t), x), "heat", ("layer",)
    ),
    "guided Grad-CAM": _Method(
        lambda m, x, t, o, p: guided_grad_cam(m, x, o["layer"], t)[0], "rgb", ("layer",)
    ),
    "occlusion": _Method(
        lambda m, x, t, o, p: occlusion(
            m, x, t, window=o["window"], stride=o["stride"], progress=p
        )[0],
        "signed",
        ("window", "stride"),
    ),
}
PREDICTED = -1
WITH_EXTENT = "layers with maps larger than 1×1 (a 1×1 map is one flat value)"
COMPARE_RATIO = 140 / 192  # each side-by-side map, relative to the widget's size
RGB_KEY = "RGB input gradient: mid-gray = 0, one scale for all three channels"


class AttributionExplorer(BaseWidget):
    """Lectures 3 and 5: any attribution method for any image, target class and layer.

    Pick an image, a method, a target class (the prediction by default) and the method's settings;
    see the map over the image and on its own, and any other methods side by side (`compare`).
    Sliders act on release; maps are computed in the background with a progress bar and Cancel
    (SmoothGrad, integrated gradients and occlusion on big models take a while), and cached, so
    revisiting a setting is instant. Drive it through the controls' `.value`; `current` holds the
    displayed map, `compared` the side-by-side ones, `status` the summary. Each map has a key under
    it: signed maps on symmetric limits with white = 0, heat maps from 0, RGB gradients with
    mid-gray = 0.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        method: The first method shown: "saliency", "gradient × input", "deconvnet", "guided
            backprop", "SmoothGrad", "integrated gradients", "CAM", "Grad-CAM", "guided Grad-CAM" or
            "occlusion".
        layer: The Grad-CAM layer, a name or alias of a layer with spatial extent; None for the last
            one.
        background: Compute slow maps on a background thread (False: in the foreground, for tests).
        size: Display width of the two main maps in pixels (64 … 2048); None for `default_size()`.

    Raises:
        CnnlensError: An unknown `method`; an unknown `layer` or one without spatial extent; a
            `size` outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(order=("self", "model", "method", "layer", "background", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        method: str = "Grad-CAM",
        layer: str | None = None,
        background: bool = True,
        size: int | None = None,
    ):
        super().__init__(size)
        self.model = model
        self.compare_px = scaled(self.px, COMPARE_RATIO)
        size = _as_handle(model).input_size
        self.picker = ImagePicker(size, self.status)
        names = output_names(model)
        self.class_names = names
        if method not in METHODS:
            raise CnnlensError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        self.method = widgets.Dropdown(options=list(METHODS), value=method, description="method")
        self.target = widgets.Dropdown(
            options=[("predicted class", PREDICTED), *((n, i) for i, n in enumerate(names))],
            value=PREDICTED,
            description="target",
        )
        # maps with real extent: a 1×1 layer (after global pooling) gives a flat map
        layers = spatial_layers(model, min_side=2)
        slider = slider_options()
        self._longest_stride = size // 4
        self.options = {
            "layer": layer_control(model, layer, layers, last=True, offered=WITH_EXTENT),
            "window": widgets.IntSlider(8, 2, size // 2, description="window", **slider),
            "stride": widgets.IntSlider(4, 1, self._longest_stride, description="stride", **slider),
            "noise": widgets.FloatSlider(
                0.15, min=0.0, max=0.5, step=0.05, description="noise", **slider
            ),
            "samples": widgets.IntSlider(16, 1, 64, description="samples", **slider),
            "steps": widgets.IntSlider(32, 2, 128, description="steps", **slider),
        }
        self.opacity = widgets.FloatSlider(0.6, min=0.0, max=1.0, step=0.05, description="opacity")
        self.compare = widgets.SelectMultiple(
            options=list(METHODS), value=(), description="compare", rows=4
        )
        self.overlay_view, self.map_view = image_view(), image_view()
        self.map_key = ColourKey()
        self.compare_row = row()
        self._compare_views: dict[str, widgets.Image] = {}
        self._compare_keys: dict[str, ColourKey] = {}
        self._compare_shown: tuple[str, ...] = ()
        self.runner = Runner(self.status, background=background)
        self.runner.run_button.layout.display = "none"  # controls start the work themselves
        self.runner.again = "choose the setting again to compute it"
        views = [self.overlay_view, self.map_view]
        self.stale = self.runner.mark_stale(views, self._wanted, press="a setting")
        self.current: torch.Tensor | None = None
        self.compared: dict[str, torch.Tensor] = {}
        self._request = 0  # the latest setting asked for; older results are dropped
        self._maps, self._predictions = ResultCache(), ResultCache()
        # before the refresh: a stride longer than the window would leave pixels uncovered
        self.options["window"].observe(self._fit_stride, "value")
        self._fit_stride()
        for control in (self.method, self.target, self.compare, *self.options.values()):
            control.observe(self._refresh, "value")
        self.picker.observe_choice(self._refresh)
        self.opacity.observe(self._render, "value")
        maps = row(
            [
                titled("map over the image", self.overlay_view),
                titled("map", widgets.VBox([self.map_view, self.map_key])),
            ]
        )
        self._assemble(
            [
                self.picker,
                row([self.method, self.target, self.opacity]),
                row(list(self.options.values())),
                row([self.compare, self.runner]),
                maps,
                self.compare_row,
            ],
            self._refresh,
        )

    def exported_data(self) -> dict[str, torch.Tensor]:
        """The map shown, and each compared method's map by name."""
        maps = {} if self.current is None else {"map": self.current}
        return maps | {f"map-{name}": values for name, values in self.compared.items()}

    def _fit_stride(self, _change: dict | None = None) -> None:
        """Occlusion windows cover every pixel only with a stride of at most the window."""
        stride = self.options["stride"]
        stride.max = min(self._longest_stride, self.options["window"].value)

    def target_class(self) -> int:
        """The chosen class, or the model's prediction for the chosen image."""
        if self.target.value != PREDICTED:
            return self.target.value
        key = self.picker.choice.value
        image = self.picker.image
        return self._predictions.get(
            key, lambda: _predicted(self.model, model_logits(self.model, image))[0]
        )

    @guarded
    def _refresh(self, _change: dict | None = None) -> None:
        shown = METHODS[self.method.value]
        for name, control in self.options.items():
            control.layout.display = "" if name in shown.uses else "none"
        cls = self.target_class()
        keys = self._wanted()
        names = list(keys)
        x = self.picker.image[None]

        def work(progress: Progress | None) -> dict[str, tuple[torch.Tensor, tuple[str, ...]]]:
            return {
                name: self._maps.get(key, partial(self._compute, name, x, cls, key, progress))
                for name, key in keys.items()
            }

        self._request += 1
        request = self._request

        def done(results: dict[str, tuple[torch.Tensor, tuple[str, ...]]]) -> None:
            if request != self._request:  # a newer setting was asked for meanwhile
                return
            self.current = results[names[0]][0]
            self.compared = {name: results[name][0] for name in names[1:]}
            self._render()
            self._render_comparison()
            heading = f"{names[0]} · target {self.class_names[cls]}" + (
                " (predicted)" if self.target.value == PREDICTED else ""
            )
            notes = dict.fromkeys(line for _, lines in results.values() for line in lines)
            self.status.show(" · ".join([heading, *notes]))
            self.stale.showing(keys)

        if self.runner.running:  # a newer setting wins: stop the old work at its next step
            self.runner.cancel()
            self.runner.wait()
        if all(key in self._maps for key in keys.values()):
            done(work(None))
            return
        self.runner.start(work, done, f"computing {', '.join(names)}")

    def _compute(
        self, name: str, x: torch.Tensor, cls: int, key: tuple, progress: Progress | None
    ) -> tuple[torch.Tensor, tuple[str, ...]]:
        """A method's map, and its notes (activations guided backprop left as they are, ...)."""
        with collecting_notes() as notes:
            values = METHODS[name].compute(self.model, x, cls, dict(key[3]), progress)
        return values, tuple(notes)

    def _wanted(self) -> dict[str, tuple]:
        """The cache key of each map the controls ask for: the method's, then those compared."""
        cls = self.target_class()
        names = [self.method.value, *(m for m in self.compare.value if m != self.method.value)]
        return {name: self._key(name, cls) for name in names}

    def _key(self, name: str, cls: int) -> tuple:
        settings = {option: self.options[option].value for option in METHODS[name].uses}
        return (self.picker.choice.value, name, cls, tuple(settings.items()))

    def _picture(
        self, name: str, values: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray, Scale | str]:
        """The map as a picture, its strength as a picture for overlays, and the key.

        The key is the Scale of both, or a line for an RGB gradient whose overlay is |gradient| on a
        heat scale.
        """
        array = values.detach().cpu().numpy()
        kind = METHODS[name].kind
        if kind == "rgb":
            strength = np.abs(array).max(0)
            return (
                gradient_picture(np.moveaxis(array, 0, -1)),
                heat_scale(strength).rgb(strength),
                RGB_KEY,
            )
        scale = heat_scale(array) if kind == "heat" else signed_scale(array)
        picture = scale.rgb(array)
        return picture, picture, scale

    def _render_comparison(self) -> None:
        """Update the side-by-side row: a titled view per method with its key, kept while it stays.

        Each title wraps within the view's width.
        """
        image = to_numpy(self.picker.image)
        scale = fit_scale(image.shape[0], self.compare_px)
        for name, values in self.compared.items():
            if name not in self._compare_views:
                self._compare_views[name] = image_view()
                self._compare_keys[name] = ColourKey()
            _, strength, key = self._picture(name, values)
            show_png(self._compare_views[name], overlay(image, strength, self.opacity.value), scale)
            _show_key(self._compare_keys[name], key, image.shape[1] * scale)
        if tuple(self.compared) != self._compare_shown:
            self._compare_shown = tuple(self.compared)
            self.compare_row.children = [
                titled(
                    name,
                    widgets.VBox([self._compare_views[name], self._compare_keys[name]]),
                    image.shape[1] * scale,
                )
                for name in self.compared
            ]

    @guarded
    def _render(self, _change: dict | None = None) -> None:
        if self.current is None:
            return
        image = to_numpy(self.picker.image)
        picture, strength, key = self._picture(self.method.value, self.current)
        scale = fit_scale(image.shape[0], self.px)
        show_png(self.overlay_view, overlay(image, strength, self.opacity.value), scale)
        show_png(self.map_view, picture, scale)
        _show_key(self.map_key, key, image.shape[1] * scale)
        if self.compared and _change is not None:  # the opacity moved: redraw the row too
            self._render_comparison()


def _show_key(key: ColourKey, shown: Scale | str, width: int) -> None:
    """A map's key: its colour bar, or its one line (an RGB gradient has no colour scale)."""
    if isinstance(shown, Scale):
        key.show(shown, width)
    else:
        key.line(shown, width)
