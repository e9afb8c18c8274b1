"""What every cnnlens widget shares: status, guarded callbacks, stale marks, export.

`BaseWidget` is the class they derive from: a display size, a status line under the widget's rows,
export. The status line is one line (result, running…, cancelled, stale or error); `views` shows the
pictures and placeholders. Also control rows that wrap (`row`), a colour key under each map
(`ColourKey`) and the display size of pictures (`set_default_size`, each widget's `size=`).
"""

from __future__ import annotations

import csv
import functools
import html
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch

from cnnlens.errors import CnnlensError
from cnnlens.plot.scales import Scale
from cnnlens.widgets._views import is_placeholder

RUNNING = "running…"
DEFAULT_SIZE = 192  # the course-wide display size of a widget's main pictures, in pixels
MIN_SIZE, MAX_SIZE = 64, 2048
_size = {"default": DEFAULT_SIZE}


def set_default_size(pixels: int) -> None:
    """Set the display size (in screen pixels) of every widget created afterwards.

    The size is the width of a widget's main pictures, which are rendered at that size (other views
    scale with it). A widget's own `size=` argument wins. 192 by default; 320 or so suits a
    projector's back row.

    Args:
        pixels: The size, a whole number from 64 to 2048.

    Raises:
        CnnlensError: `pixels` is outside 64 … 2048 or not a whole number.
    """
    _size["default"] = _checked_size(pixels)


def default_size() -> int:
    """The course-wide display size set by `set_default_size` (192 px unless changed).

    Returns:
        The size in screen pixels.
    """
    return _size["default"]


def _view_size(size: int | None) -> int:
    """A widget's display size: its `size=` argument, or the course-wide default for None.

    Raises CnnlensError for a size outside 64 … 2048 or not a whole number.
    """
    return default_size() if size is None else _checked_size(size)


def _checked_size(pixels: object) -> int:
    if isinstance(pixels, bool) or not isinstance(pixels, int | np.integer):
        raise CnnlensError(f"a size is a whole number of pixels, got {pixels!r}")
    if not MIN_SIZE <= pixels <= MAX_SIZE:
        raise CnnlensError(f"size {pixels} px is outside {MIN_SIZE} … {MAX_SIZE} px")
    return int(pixels)


def scaled(size: int, ratio: float) -> int:
    """`ratio` × `size` pixels, rounded: a view sized relative to the widget's main pictures."""
    return max(16, round(size * ratio))


WRAP = "row wrap"


def row(children: Sequence[widgets.Widget] = (), **layout: str) -> widgets.HBox:
    """A row of controls or views that wraps onto the next line when the window is narrower.

    Narrower than the row, that is (a projector's 1280 px): controls wrap instead of being pushed
    off-screen.
    """
    return widgets.HBox(list(children), layout=widgets.Layout(flex_flow=WRAP, **layout))


def titled(title: str, view: widgets.Widget, width: int | None = None) -> widgets.VBox:
    """`view` under a bold `title`.

    With `width` (px), the title wraps within the view's width and the column keeps a gap to its
    right neighbour (titles of a row never collide).
    """
    heading = widgets.HTML(f"<b>{html.escape(title)}</b>")
    box = widgets.VBox([heading, view], layout=widgets.Layout(margin="0 12px 4px 0"))
    if width is not None:
        heading.layout.width = f"{width}px"
        heading.layout.overflow = "hidden"
    return box


class ColourKey(widgets.HTML):
    """A compact key under a map view: a colour bar with its limits, or one line of text.

    The bar shows its limits (and 0 for a signed map); the line is for pictures that have no scale
    (an RGB gradient, an outline). `scale` holds the Scale shown (None for a line), for tests and
    callers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.scale: Scale | None = None

    def show(self, scale: Scale, width: int) -> None:
        """Show `scale` as a bar `width` px wide: low, (0,) high under it, its label after."""
        self.scale = scale
        stops = ", ".join(
            f"{colour} {100 * i / (len(stops) - 1):.0f}%"
            for stops in [scale.stops(11)]
            for i, (_, colour) in enumerate(stops)
        )
        middle = "0" if scale.signed else ""
        label = f" {html.escape(scale.label)}" if scale.label else ""
        self.value = (
            f"<div class='cnnlens-key' style='width:{width}px;font-size:11px;line-height:1.2'>"
            f"<div style='height:9px;border:1px solid #999;"
            f"background:linear-gradient(to right, {stops})'></div>"
            f"<div style='display:flex;justify-content:space-between'>"
            f"<span>{_number(scale.low)}</span><span>{middle}</span>"
            f"<span>{_number(scale.high)}</span></div>{label}</div>"
        )

    def line(self, text: str, width: int | None = None) -> None:
        """Show one line of text instead of a bar (e.g. "gray = 0, brighter = more")."""
        self.scale = None
        style = f"width:{width}px;" if width else ""
        self.value = (
            f"<div class='cnnlens-key' style='{style}font-size:11px'>{html.escape(text)}</div>"
        )


def _number(value: float) -> str:
    """A colour bar's limit, short: 3 significant digits."""
    return f"{value:.3g}"


class StatusLine(widgets.HTML):
    """A line under a widget: what is shown, what is running, or what went wrong.

    Never a traceback. Its kind is a CSS class: cnnlens-status, -running, -stale or -error.
    """

    def show(self, text: str) -> None:
        """Show an informational line (a result, a note, a cancel)."""
        self._set("status", text)

    def running(self, what: str = "") -> None:
        """Say that a call is running (and what it does), replacing the previous result's line."""
        self._set("running", f"⏳ {RUNNING} {what}".rstrip(), "color:#555")

    def stale(self, text: str) -> None:
        """Say that the views show another setting than the controls describe."""
        self._set("stale", text, "color:#8a5a00")

    def _set(self, kind: str, text: str, style: str = "") -> None:
        self.value = f"<span class='cnnlens-{kind}' style='{style}'>{html.escape(text)}</span>"

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
    def is_running(self) -> bool:
        """Whether the line says a call is running."""
        return "cnnlens-running" in self.value

    @property
    def is_stale(self) -> bool:
        """Whether the line says the views show another setting than the controls."""
        return "cnnlens-stale" in self.value

    @property
    def text(self) -> str:
        """The line's plain text."""
        return html.unescape(self.value.split(">", 1)[-1].rsplit("<", 1)[0]) if self.value else ""


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a widget callback so any exception lands in `self.status` instead of a traceback."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self.status.error(exc)
            return None

    return wrapper


def busy(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like `guarded`, and say "running… `what`" in `self.status` while the callback computes.

    A synchronous widget's wait of a few seconds on a loaded machine is then not a frozen one.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        safe = guarded(method)

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.status.running(what)
            return safe(self, *args, **kwargs)

        return wrapper

    return decorate


STALE = "cnnlens-stale"
STALE_BORDER = "3px dashed #c8a000"


class StaleViews:
    """Views that show one finished setting (a render, an inversion, a map), marked when stale.

    They are marked stale (a dashed frame and the class cnnlens-stale, with a line in the status)
    while a call runs, after a cancel or an error, and whenever the controls describe another
    setting than the one shown. The widget calls `showing(key)` after drawing a result; the runner
    calls `started()`.
    """

    def __init__(
        self,
        views: Sequence[widgets.Image],
        status: StatusLine,
        settings: Callable[[], object],
        press: str,
    ) -> None:
        self.views, self.status, self.settings, self.press = views, status, settings, press
        self.shown: object = None  # the setting of the finished result shown
        self.line = ""  # the status line that went with it
        self.partial = False  # a run drew previews, or was stopped, since
        self.is_stale = False

    def started(self) -> None:
        """A run began: what the views show (an earlier result, then previews) is not final."""
        self.partial = True
        self._mark(True)

    def showing(self, key: object) -> None:
        """The views now show the finished result of setting `key`, under the current status.

        The status says stale instead, if the controls moved on while it was computed.
        """
        self.shown, self.line, self.partial, self.is_stale = key, self.status.value, False, False
        self.check()

    def check(self, _change: dict | None = None) -> None:
        """Mark the views stale or not for the controls' current setting (a control observer)."""
        stale = self.partial or (self.shown is not None and self.shown != self.settings())
        changed = stale != self.is_stale
        self._mark(stale)
        if not changed or self.status.is_running:
            return
        if stale:
            self.status.stale(
                f"stale: the picture shows an earlier setting — press {self.press} for this one"
            )
        elif self.line:
            self.status.value = self.line

    def _mark(self, stale: bool) -> None:
        self.is_stale = stale
        for view in self.views:
            if stale and not is_placeholder(view):
                view.add_class(STALE)
                view.layout.border = STALE_BORDER
            else:
                view.remove_class(STALE)
                view.layout.border = None


Table = Sequence[Mapping[str, object]]


class Exportable:
    """`export(path)` on a widget: its pictures as PNG and its data, for slides and handouts.

    Each picture it shows as PNG (the bytes on screen), and its data (`exported_data()`: arrays as
    .npy, tables of rows as .csv).
    """

    def exported_data(self) -> Mapping[str, np.ndarray | torch.Tensor | Table]:
        """The data behind the pictures, by name (none by default)."""
        return {}

    def export(self, path: str | Path) -> list[Path]:
        """Write each shown picture and the data behind them; return the files written.

        Args:
            path: The files' common stem; a trailing .png is dropped.

        Returns:
            The paths: `<path>-<view>.png` for each shown picture, `<path>-<name>.npy` / `.csv` for
            the data.
        """
        base = Path(path)
        base = base.with_suffix("") if base.suffix == ".png" else base
        base.parent.mkdir(parents=True, exist_ok=True)
        written = []
        for name, view in self._shown_views():
            written.append(base.with_name(f"{base.name}-{name}.png"))
            written[-1].write_bytes(view.value)
        for name, data in self.exported_data().items():
            written.append(_write_data(base.with_name(f"{base.name}-{name}"), data))
        return written

    def _shown_views(self) -> Iterator[tuple[str, widgets.Image]]:
        """(name, view) for each picture on screen.

        An Image in the widget's tree, not hidden, not a placeholder, named by its attribute
        (`views-gradient` for a dict of views).
        """
        names = {}
        for attribute, value in vars(self).items():
            views = value if isinstance(value, dict) else {None: value}
            for key, view in views.items():
                name = attribute if key is None else f"{attribute}-{key}"
                names[id(view)] = name.strip("_").replace(" ", "_")
        for index, view in enumerate(_visible_images(self)):
            if view.value and not is_placeholder(view):
                yield names.get(id(view), f"image{index}"), view


def _visible_images(widget: widgets.Widget) -> Iterator[widgets.Image]:
    """The Image widgets in `widget`'s tree, in screen order, leaving out hidden branches."""
    if widget.layout.display == "none":
        return
    if isinstance(widget, widgets.Image):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _visible_images(child)


def _write_data(stem: Path, data: np.ndarray | torch.Tensor | Table) -> Path:
    """Write an array as `stem`.npy or a table (a sequence of rows) as `stem`.csv."""
    if isinstance(data, torch.Tensor | np.ndarray):
        target = stem.with_suffix(".npy")
        array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data
        np.save(target, array)
        return target
    target = stem.with_suffix(".csv")
    with target.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(data[0]) if data else [])
        writer.writeheader()
        writer.writerows(data)
    return target


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


class BaseWidget(Exportable, widgets.VBox):
    """A cnnlens widget: its controls and views above one status line, and `export`.

    A subclass's constructor starts with `super().__init__(size)`, which sets `px`, the display size
    of its main pictures (`size`, or the course-wide default for None), and `status`, its status
    line; it ends with `_assemble`, which lays out its rows and draws its first picture.
    """

    def __init__(self, size: int | None = None) -> None:
        super().__init__()
        self.px = _view_size(size)
        self.status = StatusLine()

    def _assemble(
        self,
        rows: Sequence[widgets.Widget],
        draw: Callable[[], object] | None = None,
        problem: CnnlensError | None = None,
    ) -> None:
        """Show `rows` above the status line, then call `draw` and say `problem` in the status.

        `draw` is the widget's first drawing; `problem` one found in its arguments that it could
        work around (a unit out of range), said after the drawing so that its line stays.
        """
        self.children = [*rows, self.status]
        if draw is not None:
            draw()
        if problem is not None:
            self.status.error(problem)
