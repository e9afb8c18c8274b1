"""Lecture 4 widget: activation maximization with every knob, Run, a live preview and Cancel.

The knobs: objective, unit, steps, learning rate, regularizers, transforms and parameterization.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import output_names
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike
from cnnlens.featurevis import (
    Blur,
    Objective,
    Param,
    Rendering,
    TotalVariation,
    channel,
    class_logit,
    class_probability,
    diversity,
    l1,
    l2,
    layer_energy,
    neuron,
    render,
)
from cnnlens.featurevis.render import LEAKY_SLOPE
from cnnlens.featurevis.transforms import STANDARD_KINDS, Transform, standard
from cnnlens.plot import fit_scale, grid, to_numpy
from cnnlens.widgets._base import BaseWidget, ResultCache, guarded, row
from cnnlens.widgets._controls import layer_control, slider_options, spatial_layers, unit_controls
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._views import image_view, show_png

Settings = dict[str, Any]

OBJECTIVES: dict[str, Callable[[Settings], Objective]] = {
    "channel": lambda s: channel(s["layer"], s["unit"]),
    "neuron (centre)": lambda s: neuron(s["layer"], s["unit"]),
    "DeepDream (whole layer)": lambda s: layer_energy(s["layer"]),
    "class logit": lambda s: class_logit(s["class"]),
    "class probability": lambda s: class_probability(s["class"]),
    "channel + diversity": lambda s: (
        channel(s["layer"], s["unit"]) + s["diversity"] * diversity(s["layer"])
    ),
}
USES_UNIT = ("channel", "neuron (centre)", "channel + diversity")
USES_CLASS = ("class logit", "class probability")


def _toggle(description: str) -> widgets.Checkbox:
    """A checked box as wide as its label (ipywidgets' default is 300 px with an indent)."""
    return widgets.Checkbox(True, description=description, indent=False, layout={"width": "auto"})


def _transforms_for(settings: Settings) -> list[Transform]:
    """The standard robustness transforms switched on, with amounts for the image size."""
    return standard(settings["size"], kinds=[kind for kind in STANDARD_KINDS if settings[kind]])


class FeatureVisualizer(BaseWidget):
    """Lecture 4: activation maximization with every knob, a live preview and Cancel.

    Pick a layer, a unit (or a class) and an objective, set steps, learning rate, regularizer
    strengths, transforms and parameterization, press Run: the preview updates every few steps,
    Cancel stops, and every finished setting is cached. Drive it through the controls' `.value` and
    `run()`; `current` holds the displayed Rendering, `status` the summary or error. Olah et al.,
    Feature Visualization, Distill 2017, https://distill.pub/2017/feature-visualization/.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        layer: A layer with (C, H, W) maps (name or alias); None for the last one.
        unit: The first unit (channel) shown.
        background: Render on a background thread (False: in the foreground, for tests).
        preview_every: Steps between preview updates.
        size: Display width of each rendered image in pixels (64 … 2048); None for `default_size()`.

    Raises:
        CnnlensError: An unknown `layer` or one without (C, H, W) maps; a `size` outside 64 … 2048
            or not a whole number.
    """

    @legacy_calls(order=("self", "model", "layer", "unit", "background", "preview_every", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        layer: str | None = None,
        unit: int = 0,
        background: bool = True,
        preview_every: int = 8,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model = model
        self.size = _as_handle(model).input_size
        self.preview_every = preview_every
        self.runner = Runner(self.status, "Render", background, run=self.run)
        classes = output_names(model)
        slider = slider_options()
        layers = spatial_layers(model)
        layer_choice = layer_control(model, layer, layers, last=True)
        unit_choice, self.unit_box, problem = unit_controls(
            layer_choice, layers, self.status, unit, **slider
        )
        self.controls: dict[str, widgets.ValueWidget] = {
            "objective": widgets.Dropdown(options=list(OBJECTIVES), description="objective"),
            "layer": layer_choice,
            "unit": unit_choice,
            "class": widgets.Dropdown(
                options=[(n, i) for i, n in enumerate(classes)], description="class"
            ),
            "steps": widgets.IntSlider(64, 8, 512, step=8, description="steps", **slider),
            "lr": widgets.FloatLogSlider(0.05, base=10, min=-3, max=0, description="lr", **slider),
            "batch": widgets.IntSlider(1, 1, 8, description="images", **slider),
            "diversity": widgets.FloatSlider(1.0, min=0, max=10, description="diversity", **slider),
            "l1": widgets.FloatSlider(0.0, min=0, max=5, step=0.1, description="L1", **slider),
            "l2": widgets.FloatSlider(0.0, min=0, max=5, step=0.1, description="L2", **slider),
            "tv": widgets.FloatSlider(0.0, min=0, max=20, step=0.5, description="TV", **slider),
            "blur": widgets.FloatSlider(0.0, min=0, max=20, step=0.5, description="blur", **slider),
            "pad": _toggle("pad"),
            "jitter": _toggle("jitter"),
            "scale": _toggle("scale"),
            "rotate": _toggle("rotate"),
            "fourier": _toggle("Fourier"),
            "decorrelate": _toggle("decorrelated colour"),
            "leaky": _toggle("leaky ReLUs"),
        }
        self.view = image_view("press Render to draw what the unit responds to", self.px)
        self.stale = self.runner.mark_stale([self.view], self._key, self.controls.values())
        self.current: Rendering | None = None
        self._results = ResultCache()
        self.controls["objective"].observe(self._show_relevant, "value")
        if _as_handle(model).color_covariance is None:  # Param.for_model: plain RGB either way
            decorrelate = self.controls["decorrelate"]
            decorrelate.value, decorrelate.disabled = False, True
            decorrelate.tooltip = "this model's handle has no colour statistics to decorrelate by"
        c = self.controls
        rows = [
            [c["objective"], c["layer"], c["unit"], self.unit_box, c["class"]],
            [c["steps"], c["lr"], c["batch"], c["diversity"]],
            [c["l1"], c["l2"], c["tv"], c["blur"]],
            [c[name] for name in ("pad", "jitter", "scale", "rotate", "fourier", "decorrelate")]
            + [c["leaky"]],
        ]
        self._assemble(
            [*(row(r) for r in rows), self.runner, self.view], self._show_relevant, problem
        )

    def settings(self) -> Settings:
        """The values of the controls the objective uses, plus the image size: a render's cache key.

        A hidden control's value cannot change the picture, so it is left out.
        """
        hidden = self._hidden()
        return {
            "size": self.size,
            **{name: c.value for name, c in self.controls.items() if name not in hidden},
        }

    def _key(self) -> tuple:
        """The current setting as a cache key."""
        return tuple(sorted(self.settings().items()))

    def exported_data(self) -> dict[str, torch.Tensor]:
        """The rendered images shown, (N, 3, H, W) in [0, 1]."""
        return {} if self.current is None else {"images": self.current.images}

    def run(self) -> None:
        """Render the current setting in the runner (a setting seen before comes from the cache)."""
        settings, key = self.settings(), self._key()
        self.runner.start(
            lambda progress: self._results.get(key, lambda: self._render(settings, progress)),
            lambda result: self._show(result, settings, key),
            f"rendering {settings['objective']}",
        )

    def _render(self, s: Settings, progress: Callable[[int, int], None]) -> Rendering:
        regularizers = [
            reg
            for reg, strength in (
                (l1(s["l1"]), s["l1"]),
                (l2(s["l2"]), s["l2"]),
                (TotalVariation(s["tv"]), s["tv"]),
                (Blur(s["blur"]), s["blur"]),
            )
            if strength > 0
        ]
        return render(
            self.model,
            OBJECTIVES[s["objective"]](s),
            steps=s["steps"],
            lr=s["lr"],
            count=s["batch"],
            param=Param(fourier=s["fourier"], decorrelate=s["decorrelate"]),
            transforms=_transforms_for(s),
            regularizers=regularizers,
            leaky=LEAKY_SLOPE if s["leaky"] else None,
            progress=progress,
            preview=lambda step, images: self._picture(images),
            preview_every=self.preview_every,
        )

    def _picture(self, images: torch.Tensor) -> None:
        picture = grid(to_numpy(images), columns=min(4, len(images)), pad=2)
        show_png(self.view, picture, fit_scale(images.shape[-1], self.px))

    def _show(self, result: Rendering, settings: Settings, key: tuple) -> None:
        self.current = result
        self._picture(result.images)
        read = ", ".join(f"{name} read at {path}" for name, path in result.layers.items())
        values = " ".join(f"{v:.2f}" for v in result.values.tolist())
        self.status.show(f"{settings['objective']} · {read} · objective {values}")
        self.stale.showing(key)

    def _hidden(self) -> set[str]:
        """The controls the chosen objective does not read."""
        kind = self.controls["objective"].value
        hidden = {
            "unit": kind not in USES_UNIT,
            "layer": kind in USES_CLASS,
            "class": kind not in USES_CLASS,
            "diversity": kind != "channel + diversity",
        }
        return {name for name, hide in hidden.items() if hide}

    @guarded
    def _show_relevant(self, _change: dict | None = None) -> None:
        hidden = self._hidden()
        for name in ("unit", "layer", "class", "diversity"):
            self.controls[name].layout.display = "none" if name in hidden else ""
