"""Lecture 6 widget: reconstruct an image from its code at any layer, beside the original."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.layers import ModelLike
from cnnlens.inversion import Inversion, invert
from cnnlens.plot import fit_scale, to_numpy
from cnnlens.widgets._base import BaseWidget, ResultCache, row, titled
from cnnlens.widgets._controls import layer_control, slider_options, spatial_layers
from cnnlens.widgets._picker import ImagePicker
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._views import image_view, show_png

WHOLE = 0  # the field control's value for "the whole map"


class InversionExplorer(BaseWidget):
    """Lecture 6: reconstruct an image from its code at any layer, beside the original.

    Pick an image, slide through the layers, set the prior strengths (λ_α, λ_TV), the steps and the
    field, press Run: the reconstruction appears beside the original, updating live. Drive it
    through `picker.choice`, the controls' `.value` and `run()`; `current` holds the displayed
    Inversion, `status` its code error or an error message. Mahendran & Vedaldi, CVPR 2015,
    https://arxiv.org/abs/1412.0035.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer with (C, H, W) maps (name or alias); None for the first one.
        background: Invert on a background thread (False: in the foreground, for tests).
        preview_every: Steps between preview updates.
        size: Display width of the original and the reconstruction in pixels (64 … 2048); None for
            `default_size()`.

    Raises:
        CnnlensError: An unknown `layer` or one without (C, H, W) maps; a `size` outside 64 … 2048
            or not a whole number.
    """

    @legacy_calls(order=("self", "model", "layer", "background", "preview_every", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        layer: str | None = None,
        background: bool = True,
        preview_every: int = 10,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model = model
        self.preview_every = preview_every
        self.picker = ImagePicker.for_model(model, self.status)
        self.runner = Runner(self.status, "Invert", background, run=self.run)
        slider = slider_options()
        layers = spatial_layers(model)
        self.controls: dict[str, widgets.ValueWidget] = {
            "layer": layer_control(model, layer, layers, kind=widgets.SelectionSlider, **slider),
            "alpha_strength": widgets.FloatLogSlider(
                1.0, base=10, min=-3, max=2, description="λ_α (α = 6)", **slider
            ),
            "tv_strength": widgets.FloatLogSlider(
                0.1, base=10, min=-3, max=2, description="λ_TV", **slider
            ),
            "steps": widgets.IntSlider(150, 10, 600, step=10, description="steps", **slider),
            "field": widgets.Dropdown(
                options=[("whole map", WHOLE), ("central 5×5", 5), ("central 1×1", 1)],
                description="code",
            ),
        }
        self.original_view = image_view()
        self.view = image_view("press Invert to reconstruct the image from its code", self.px)
        self.current: Inversion | None = None
        self._results = ResultCache()
        self.picker.observe_choice(lambda _: self._show_original())
        controls = list(self.controls.values())
        self.stale = self.runner.mark_stale([self.view], self._key, [self.picker.choice, *controls])
        columns = row(
            [
                titled("original", self.original_view),
                titled("reconstruction from the code", self.view),
            ]
        )
        self._assemble(
            [self.picker, row(controls[:3]), row(controls[3:]), self.runner, columns],
            self._show_original,
        )

    def settings(self) -> dict[str, Any]:
        """The chosen image's name and every control's value: the cache key of an inversion."""
        return {"image": self.picker.choice.value, **{n: c.value for n, c in self.controls.items()}}

    def _key(self) -> tuple:
        """The current setting as a cache key."""
        return tuple(sorted(self.settings().items()))

    def exported_data(self) -> dict[str, torch.Tensor]:
        """The reconstruction shown and its original, (3, H, W) each in [0, 1]."""
        if self.current is None:
            return {}
        return {"reconstruction": self.current.images[0], "original": self.current.originals[0]}

    def run(self) -> None:
        """Invert the chosen image at the chosen layer (a setting seen before is cached)."""
        settings, key = self.settings(), self._key()
        image = self.picker.image[None]
        self.runner.start(
            lambda progress: self._results.get(
                key, lambda: self._invert(image, settings, progress)
            ),
            lambda result: self._show(result, key),
            f"inverting the code at {settings['layer']}",
        )

    def _invert(
        self, image: torch.Tensor, s: dict[str, Any], progress: Callable[[int, int], None]
    ) -> Inversion:
        return invert(
            self.model,
            image,
            s["layer"],
            field=s["field"] or None,
            steps=s["steps"],
            alpha_strength=s["alpha_strength"],
            tv_strength=s["tv_strength"],
            progress=progress,
            preview=lambda step, images: self._picture(self.view, images[0]),
            preview_every=self.preview_every,
        )

    def _picture(self, view: widgets.Image, image: torch.Tensor) -> None:
        show_png(view, to_numpy(image), fit_scale(image.shape[-1], self.px))

    def _show_original(self) -> None:
        self._picture(self.original_view, self.picker.image)

    def _show(self, result: Inversion, key: tuple) -> None:
        self.current = result
        self._picture(self.view, result.images[0])
        field = "" if result.field is None else f" (central {result.field}×{result.field})"
        self.status.show(
            f"{result.layer}{field} · relative code error ‖Φ(x) − Φ0‖ / ‖Φ0‖ = "
            f"{result.error[0]:.3f}"
        )
        self.stale.showing(key)
