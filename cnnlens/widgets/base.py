"""What every cnnlens widget shares: a one-line status/error line and guarded callbacks."""

from __future__ import annotations

import functools
import html
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import ipywidgets as widgets
import torch

from cnnlens.core.handle import as_handle
from cnnlens.core.inputs import as_index, check_images
from cnnlens.core.layers import ModelLike, resolve_layer
from cnnlens.data.batches import Images
from cnnlens.errors import CnnlensError
from cnnlens.stimuli import default_probe_set


class StatusLine(widgets.HTML):
    """A line under a widget: what is shown, or what went wrong (never a traceback)."""

    def show(self, text: str) -> None:
        """Show an informational line."""
        self.value = f"<span class='cnnlens-status'>{html.escape(text)}</span>"

    def error(self, exc: BaseException) -> None:
        """Show an exception as one red line: its type and the first line of its message."""
        first = (str(exc).splitlines() or [""])[0]
        kind = "" if isinstance(exc, CnnlensError) else f"{type(exc).__name__}: "
        message = html.escape(kind + first)
        self.value = f"<span class='cnnlens-error' style='color:#b00020'>⚠ {message}</span>"

    @property
    def is_error(self) -> bool:
        """Whether the line currently shows an error (for tests and callers)."""
        return "cnnlens-error" in self.value

    @property
    def text(self) -> str:
        """The line's plain text."""
        return html.unescape(self.value.split(">", 1)[-1].rsplit("<", 1)[0]) if self.value else ""


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a widget callback so any exception lands in `self.status` instead of a traceback."""

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self.status.error(exc)
            return None

    return wrapper


class ResultCache:
    """A small LRU of computed results, so revisiting a slider position is instant."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for `key`, computing and storing it on a miss."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items


def dataset_or_default(model: ModelLike, images: Images | None) -> Images:
    """The images a widget scans: `images`, or the held-out shape-world probe set at the model's
    input size when None. Never `images or ...`: a tensor has no truth value.

    Raises CnnlensError for an empty collection or a tensor that is not an (N, 3, H, W) batch.
    """
    if images is None:
        return default_probe_set(as_handle(model).input_size)
    if isinstance(images, torch.Tensor):
        images = check_images(images)
    if len(images) == 0:
        raise CnnlensError("no images given: pass at least one, or None for the default set")
    return images


def chosen_layer(
    model: ModelLike,
    layer: str | None,
    options: Sequence[str],
    default: str,
    offered: str = "layers with (C, H, W) maps",
) -> str:
    """The layer dropdown's first value for a widget's `layer` argument: a name or alias resolved
    to its path, `default` for None.

    Raises CnnlensError for an unknown layer or one the widget does not offer (`offered` says
    which it offers), instead of the dropdown's raw "value not found".
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


def first_unit(unit: object, units: int, layer: str) -> tuple[int, CnnlensError | None]:
    """The unit slider's first value for a widget's `unit` argument, and, when the unit lies
    outside 0..units-1, the error for the status line (the slider then starts at the nearest
    unit rather than silently at another one)."""
    index = as_index(unit)
    if 0 <= index < units:
        return index, None
    nearest = min(max(index, 0), units - 1)
    return nearest, CnnlensError(
        f"unit {index} out of range: {layer!r} has units 0..{units - 1}; showing unit {nearest}"
    )


def fit_unit_slider(slider: widgets.IntSlider, units: int) -> None:
    """Give a unit slider the range 0..units-1, keeping its value when it still fits."""
    with slider.hold_trait_notifications():
        slider.value = min(slider.value, units - 1)
        slider.max = units - 1


def unit_slider_follows(
    layer: widgets.ValueWidget,
    slider: widgets.IntSlider,
    units: Callable[[str], int],
    then: Callable[[], None] | None = None,
) -> None:
    """Whenever another layer is chosen, fit `slider` to its `units(layer)` channels, then call
    `then` (the widget's redraw)."""

    def follow(change: dict) -> None:
        fit_unit_slider(slider, units(change["new"]))
        if then is not None:
            then()

    layer.observe(follow, "value")
