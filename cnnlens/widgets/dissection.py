"""Lecture 8 widget: browse a dissection — units, their concepts, IoU and top images."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np

from cnnlens.core._legacy import legacy_calls
from cnnlens.dissection.result import Dissection, UnitLabel
from cnnlens.errors import CnnlensError
from cnnlens.plot import fit_scale
from cnnlens.plot.dissection import _category_bars, unit_strip
from cnnlens.widgets._base import BaseWidget, ColourKey, ResultCache, guarded, row, scaled
from cnnlens.widgets._views import image_view, show_placeholder, show_png

ALL = "all units"
CHART_RATIO = 320 / 192  # the bar chart's width, relative to the widget's size
PLACEHOLDER_RATIO = 300 / 192
MASK_KEY = (
    "white outline (black outside it): where the unit fires above its threshold; outside is dimmed"
)


class DissectionBrowser(BaseWidget):
    """Lecture 8: browse a dissection — units, their concepts, IoU and top images.

    Pick a layer, an IoU threshold and a category; step through the units (all of them, or that
    category's detectors, best first) and see each unit's concept, IoU and top images with its mask;
    a bar chart counts the detectors per category. Drive it through `layer`, `threshold`, `category`
    and `unit` (their `.value`); `current` is the shown unit's label. Bau et al., Network
    Dissection, CVPR 2017, https://arxiv.org/abs/1704.05796.

    Args:
        results: A `Dissection`, or several by layer (as `dissect` returns for a list of layers).
        size: Display size in pixels (64 … 2048): each top image is `size` / 1.5 px (the default 192
            gives 128 px images), the chart about 1.7 × `size` wide; None for `default_size()`.

    Raises:
        CnnlensError: No results; a `size` outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(order=("self", "results", "size"))
    def __init__(
        self, results: Dissection | Mapping[str, Dissection], *, size: int | None = None
    ) -> None:
        super().__init__(size)
        self.results = {results.layer: results} if isinstance(results, Dissection) else results
        if not self.results:
            raise CnnlensError("no dissection results to browse")
        first = next(iter(self.results.values()))
        self.layer = widgets.Dropdown(options=list(self.results), description="layer")
        self.category = widgets.Dropdown(
            options=[ALL, *first.probe.categories], value=ALL, description="category"
        )
        self.threshold = widgets.FloatSlider(
            value=first.iou_threshold,
            min=0.0,
            max=max(0.2, first.iou_threshold),  # never clip the results' own threshold
            step=0.005,
            readout_format=".3f",
            description="IoU ≥",
            continuous_update=False,
        )
        self.unit = widgets.SelectionSlider(options=[("0", 0)], description="unit")
        self.info = widgets.HTML()
        self.strip_view = image_view()
        self.chart_view = image_view()
        self.key = ColourKey()
        self.current: UnitLabel | None = None
        self._strips, self._charts = ResultCache(), ResultCache()
        for control in (self.layer, self.category, self.threshold):
            control.observe(self._refilter, "value")
        self.unit.observe(self._show_unit, "value")
        self._assemble(
            [
                row([self.layer, self.category]),
                row([self.unit, self.threshold]),
                self.info,
                widgets.HTML("<b>top images, the unit's mask outlined</b>"),
                self.strip_view,
                self.key,
                self.chart_view,
            ],
            self._refilter,
        )

    @property
    def result(self) -> Dissection:
        """The dissection of the chosen layer."""
        return self.results[self.layer.value]

    def exported_data(self) -> dict[str, list[dict[str, object]]]:
        """The chosen layer's per-unit table at the chosen threshold."""
        return {"units": [dataclasses.asdict(r) for r in self.result.labels(self.threshold.value)]}

    def shown_units(self) -> list[UnitLabel]:
        """Units the slider steps through: all in order, or a category's detectors best first."""
        labels = self.result.labels(self.threshold.value)
        if self.category.value == ALL:
            return labels
        chosen = [r for r in labels if r.detector and r.category == self.category.value]
        return sorted(chosen, key=lambda r: -r.iou)

    @guarded
    def _refilter(self, _change: dict | None = None) -> None:
        result, threshold = self.result, self.threshold.value
        chart = self._charts.get(
            (result.layer, threshold),
            lambda: _category_bars(
                result.detectors(threshold),
                result.units,
                f"{result.layer}, IoU ≥ {threshold:.3f}",
                size=(self.px * CHART_RATIO / 80, self.px * CHART_RATIO * 0.6 / 80),
            ),
        )
        show_png(self.chart_view, chart)
        units = self.shown_units()
        if not units:
            self.current = None
            self.unit.disabled = True
            self.info.value = ""
            none = f"no {self.category.value} detectors at IoU ≥ {threshold:.3f}"
            show_placeholder(
                self.strip_view,
                f"no {self.category.value} detectors at this IoU threshold: lower it or choose "
                "another category",
                scaled(self.px, PLACEHOLDER_RATIO),
            )
            self.key.line("")
            self.status.show(none)
            return
        self.unit.disabled = False
        with self.unit.hold_trait_notifications():
            previous = self.unit.value
            self.unit.options = [(str(r.unit), r.unit) for r in units]
            shown = [r.unit for r in units]
            self.unit.value = previous if previous in shown else shown[0]
        if self.unit.value == previous:  # otherwise the unit observer has just shown it
            self._show_unit()

    @guarded
    def _show_unit(self, _change: dict | None = None) -> None:
        result, unit = self.result, self.unit.value
        label = result.labels(self.threshold.value)[unit]
        self.current = label
        strip = self._strips.get((result.layer, unit), lambda: self._strip(result, unit))
        show_png(self.strip_view, strip)
        self.key.line(MASK_KEY)
        verdict = "detector" if label.detector else "below the threshold"
        self.info.value = (
            f"<b>{result.layer} unit {unit}</b>: {label.concept} ({label.category}), "
            f"IoU {label.iou:.3f} — {verdict}"
        )
        self.status.show(result.summary(self.threshold.value))

    def _strip(self, result: Dissection, unit: int) -> np.ndarray:
        """A unit's top images with their masks, each about `size` / 1.5 px (crisp, integer)."""
        images, masks = result.top_images(unit)
        scale = fit_scale(images.shape[-1], round(self.px / 1.5))
        return unit_strip(images, masks, scale=scale)
