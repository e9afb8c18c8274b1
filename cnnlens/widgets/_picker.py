"""Choose an input image: shape-world samples, an upload, a file path, or a tensor from code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
import torch
import torch.nn.functional as F

from cnnlens.core.handle import ModelLike, _as_handle
from cnnlens.data import HEADS, ShapeWorld
from cnnlens.data.images import ImageSource, load_image
from cnnlens.widgets._base import StatusLine, row

SAMPLE_SEED = 2024
MIN_SIZE = 32  # the shape world's smallest image


def _shape_world_samples(count: int, size: int, seed: int = SAMPLE_SEED) -> dict[str, torch.Tensor]:
    """Labelled shape-world images ("#3 red star on dots") keyed by their label, (3, size, size).

    Below the shape world's 32 px they are drawn at 32 px and area-averaged down.
    """
    world = ShapeWorld(length=count, seed=seed, size=max(size, MIN_SIZE))
    samples = {}
    for i in range(count):
        sample = world.sample(i)
        shape, color, texture = (sample.labels[h] for h in HEADS)
        image = torch.from_numpy(sample.image)
        if size < MIN_SIZE:
            image = F.interpolate(image[None], size=(size, size), mode="area")[0]
        samples[f"#{i} {color} {shape} on {texture}"] = image
    return samples


class ImagePicker(widgets.VBox):
    """A dropdown of images plus upload and path boxes; `image` is the chosen (3, S, S) tensor."""

    def __init__(self, size: int, status: StatusLine, samples: int = 12) -> None:
        self.size = size
        self.status = status
        self.images = _shape_world_samples(samples, size)
        self.choice = widgets.Dropdown(
            options=list(self.images), description="image", layout={"width": "320px"}
        )
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="upload")
        self.path = widgets.Text(
            placeholder="or type an image file path, then Enter",
            continuous_update=False,
            layout={"width": "280px"},
        )
        self.upload.observe(self._on_upload, "value")
        self.path.observe(self._on_path, "value")
        super().__init__([row([self.choice, self.upload]), self.path])

    @classmethod
    def for_model(cls, model: ModelLike, status: StatusLine) -> ImagePicker:
        """A picker of images at `model`'s input size, saying problems in `status`."""
        return cls(_as_handle(model).input_size, status)

    @property
    def image(self) -> torch.Tensor:
        """The chosen image, (3, S, S) in [0, 1]."""
        return self.images[self.choice.value]

    def add(self, name: str, image: ImageSource) -> None:
        """Add an image to the choices and select it, read by `load_image` at the model's size.

        The image may be a user's tensor or array, a file's bytes or path. The status line says how
        it was fitted (centre-cropped, resized), or why it could not be read (a float image of
        0..255 values, say).
        """
        try:
            whole, fitted = load_image(image), load_image(image, size=self.size)
        except Exception as exc:
            self.status.error(exc)
            return
        self.images[name] = fitted
        self.choice.options = list(self.images)
        self.choice.value = name
        note = _fitting_note((whole.shape[-2], whole.shape[-1]), self.size)
        if note and not self.status.is_error:
            self.status.show(f"{self.status.text} · {name}: {note}")

    def observe_choice(self, callback: Callable[[dict], None]) -> None:
        """Call `callback` whenever another image is chosen."""
        self.choice.observe(callback, "value")

    def _on_upload(self, change: dict) -> None:
        for item in change["new"]:
            self.add(f"upload: {item['name']}", bytes(item["content"]))

    def _on_path(self, change: dict) -> None:
        if change["new"].strip():
            self.add(f"file: {Path(change['new']).name}", change["new"].strip())


def _fitting_note(shape: tuple[int, int], size: int) -> str | None:
    """How an image of (height, width) `shape` was fitted to `size` × `size` (None: as it was)."""
    height, width = shape
    if (height, width) == (size, size):
        return None
    cropped = "centre-cropped to a square and " if height != width else ""
    return f"{width}×{height} px {cropped}resized to {size}×{size} px (the model's input size)"
