"""Picture views: an Image showing PNG bytes at the size they were rendered, or a placeholder.

Pictures are rendered at the size they are shown, never stretched by the browser; an empty view
shows a light-gray placeholder that says what to do, instead of a broken image.
"""

from __future__ import annotations

import io
import textwrap

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnlens.plot import png_bytes

PLACEHOLDER = "cnnlens-placeholder"


def image_view(placeholder: str | None = None, width: int = 192) -> widgets.Image:
    """A view for PNG pictures: empty, or saying `placeholder` (`width` px wide) until the first."""
    view = widgets.Image(format="png")
    if placeholder is not None:
        show_placeholder(view, placeholder, width)
    return view


def show_bytes(view: widgets.Image, png: bytes, width: str | None) -> None:
    """Show a PNG in `view` at `width` (None: its own), replacing any placeholder."""
    view.value = png
    view.layout.width = width
    view.remove_class(PLACEHOLDER)


def show_png(view: widgets.Image, picture: np.ndarray, scale: int = 1) -> None:
    """Show a picture at its natural pixel size (upscaled by `scale`), never browser-stretched."""
    show_bytes(view, png_bytes(picture, scale), f"{picture.shape[1] * scale}px")


def _placeholder_png(text: str, width: int = 192, height: int = 96) -> bytes:
    """A light-gray PNG saying `text`: what an empty view shows instead of a broken image.

    Latin-1 only: Pillow's own font has no other glyphs.
    """
    picture = Image.new("RGB", (width, height), (236, 236, 236))
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=12)
    lines = textwrap.wrap(text, width=max(8, width // 7))
    top = (height - 15 * len(lines)) // 2
    for row, line in enumerate(lines):
        draw.text((8, top + 15 * row), line, fill=(90, 90, 90), font=font)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def show_placeholder(view: widgets.Image, text: str, width: int = 192) -> None:
    """Show `text` in `view` (e.g. "press Render to draw"); the next picture replaces it."""
    show_bytes(view, _placeholder_png(text, width), f"{width}px")
    view.add_class(PLACEHOLDER)


def is_placeholder(view: widgets.Image) -> bool:
    """Whether `view` shows a placeholder rather than a result."""
    return PLACEHOLDER in view._dom_classes
