"""Lecture 7 widgets: nearest neighbours of an image, and a t-SNE map of the feature space."""

from __future__ import annotations

import ipywidgets as widgets
import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.layers import ModelLike
from cnnlens.core.progress import Progress
from cnnlens.data._batches import Images, first_images, image_batches, image_count, images_at
from cnnlens.data.shapeworld import HEAD_CLASSES, HEADS, ShapeWorld
from cnnlens.embedding import dataset_features, feature_layer_label, nearest, tsne
from cnnlens.embedding.features import Features
from cnnlens.errors import CnnlensError
from cnnlens.plot import fit_scale
from cnnlens.plot.embedding import SCATTER_DPI, _scatter, neighbour_row, thumbnail_map
from cnnlens.plot.images import _figure_png
from cnnlens.widgets._base import BaseWidget, ResultCache, guarded, row, scaled
from cnnlens.widgets._controls import dataset_or_default, spatial_layers
from cnnlens.widgets._runner import Runner
from cnnlens.widgets._views import image_view, show_bytes, show_png

ROW_RATIO = 900 / 192  # a neighbour row's width, relative to the widget's size
MAP_RATIO = 560 / 192  # the t-SNE map's width, relative to the widget's size
THUMBNAIL_CELLS = 28
PLACEHOLDER_RATIO = 300 / 192
SPACES = ("features", "pixels", "both")
SAMPLE_STEP = 100  # the images slider's step, where the dataset has that many


def _label_line(labels: torch.Tensor | None, index: int) -> str:
    """'circle, red, dots' for a shape-world image (its label row); its index otherwise."""
    if labels is None:
        return f"image {index}"
    return ", ".join(HEAD_CLASSES[h][k] for h, k in zip(HEADS, labels[index].tolist(), strict=True))


class NeighboursExplorer(BaseWidget):
    """Lecture 7: a query image's nearest neighbours in feature space and in pixel space.

    Pick a query image from the dataset: its k nearest neighbours in the network's feature space and
    in pixel space. Drive it through `query`, `k` and `space`; `current` maps each shown space to
    the neighbours' indices.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        images: The dataset: a `ShapeWorld`, a dataset or an (N, 3, H, W) float tensor in [0, 1], N
            >= 2; None for the held-out shape-world probe set.
        layer: A layer name, whose output is read; None for the input of the last linear layer.
        size: Display size in pixels (64 … 2048): a row is about 4.7 × `size` wide; None for
            `default_size()`.

    Raises:
        CnnlensError: Fewer than 2 images, or malformed `images`; an unknown `layer`; a `size`
            outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(order=("self", "model", "images", "layer", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        images: Images | None = None,
        layer: str | None = None,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model = model
        self.row_px = scaled(self.px, ROW_RATIO)
        self.images = dataset_or_default(model, images)
        others = image_count(self.images) - 1  # the most neighbours a query can have
        if others < 1:
            raise CnnlensError("nearest neighbours need at least 2 images, got 1")
        features = dataset_features(model, self.images, layer=layer)
        self.features = features.values
        # shape-world labels come with the features: no image is drawn again to name it
        self.labels = features.labels if isinstance(self.images, ShapeWorld) else None
        self.pixels = torch.cat([x for x, _ in image_batches(self.images, 256)]).flatten(1)
        self.query = widgets.IntSlider(
            0, 0, image_count(self.images) - 1, description="query", continuous_update=False
        )
        self.k = widgets.IntSlider(
            min(8, others), 1, min(16, others), description="k", continuous_update=False
        )
        self.space = widgets.ToggleButtons(options=SPACES, value="both", description="space")
        self.views = {space: image_view() for space in SPACES[:2]}
        self.captions = {space: widgets.HTML() for space in SPACES[:2]}
        self.current: dict[str, list[int]] = {}
        for control in (self.query, self.k, self.space):
            control.observe(self._refresh, "value")
        rows = [widgets.VBox([self.captions[s], self.views[s]]) for s in SPACES[:2]]
        self.rows = widgets.VBox(rows)
        self._assemble([row([self.query, self.k]), self.space, self.rows], self._refresh)

    def exported_data(self) -> dict[str, list[dict[str, object]]]:
        """The neighbours shown: one row per space and rank, with the query."""
        rows = [
            {"query": self.query.value, "space": space, "rank": rank, "index": index}
            for space, found in self.current.items()
            for rank, index in enumerate(found, start=1)
        ]
        return {"neighbours": rows}

    @guarded
    def _refresh(self, _change: dict | None = None) -> None:
        shown = SPACES[:2] if self.space.value == "both" else (self.space.value,)
        self.current = {}
        for space in SPACES[:2]:
            visible = space in shown
            self.views[space].layout.display = self.captions[space].layout.display = (
                None if visible else "none"
            )
            if visible:
                self._show(space)
        self.status.show(f"query {self.query.value}: {_label_line(self.labels, self.query.value)}")

    def _show(self, space: str) -> None:
        points = self.features if space == "features" else self.pixels
        q = self.query.value
        indices, _ = nearest(points, points[q : q + 1], k=self.k.value + 1)
        found = [i for i in indices[0].tolist() if i != q][: self.k.value]
        self.current[space] = found
        picture = neighbour_row(images_at(self.images, [q])[0], images_at(self.images, found))
        show_png(self.views[space], picture, fit_scale(picture.shape[1], self.row_px))
        same = sum(_label_line(self.labels, i) == _label_line(self.labels, q) for i in found)
        self.captions[
            space
        ].value = f"<b>{space} space</b> — {same}/{len(found)} neighbours share all three labels"


class EmbeddingExplorer(BaseWidget):
    """Lecture 7: a t-SNE map of a layer's features for a sample of the dataset.

    Run computes it (with progress and Cancel for the features), then colour by any label or show
    thumbnails. Drive it through `layer`, `perplexity`, `samples`, `color_by`, `thumbnails` and
    `run()`. Shape-world images colour by each of their three labels (a colour class in its own
    colour, with a legend); a Dataset's points by its labels; a tensor's are one colour. t-SNE: van
    der Maaten & Hinton, JMLR 2008, https://www.jmlr.org/papers/v9/vandermaaten08a.html.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        images: The dataset: a `ShapeWorld`, a dataset or an (N, 3, H, W) float tensor in [0, 1];
            None for the held-out shape-world probe set.
        background: Compute on a background thread (False: in the foreground, for tests).
        size: Display size in pixels (64 … 2048): the map is rendered about 2.9 × `size` wide; None
            for `default_size()`.

    Raises:
        CnnlensError: Empty or malformed `images`; a `size` outside 64 … 2048 or not a whole number.
    """

    @legacy_calls(order=("self", "model", "images", "background", "size"))
    def __init__(
        self,
        model: ModelLike,
        *,
        images: Images | None = None,
        background: bool = True,
        size: int | None = None,
    ) -> None:
        super().__init__(size)
        self.model = model
        self.map_px = scaled(self.px, MAP_RATIO)
        self.images = dataset_or_default(model, images)
        default = feature_layer_label(model)  # "fc (input)": the features dataset_features reads
        self.layer = widgets.Dropdown(
            options=[(default, ""), *((name, name) for name in spatial_layers(model))],
            value="",
            description="layer",
        )
        self.samples = _samples_slider(image_count(self.images))
        # t-SNE needs 3 × perplexity neighbours per point: start within reach of the sample
        perplexity = min(30, max(5, (self.samples.value - 1) // 3))
        self.perplexity = widgets.IntSlider(perplexity, 5, 100, description="perplexity")
        heads = HEADS if isinstance(self.images, ShapeWorld) else ("label",)
        self.color_by = widgets.Dropdown(options=heads, value=heads[0], description="colour by")
        self.thumbnails = widgets.Checkbox(False, description="thumbnails")
        self.runner = Runner(self.status, "Run t-SNE", background, run=self.run)
        placeholder = "press Run t-SNE to map the images' features"
        self.view = image_view(placeholder, scaled(self.px, PLACEHOLDER_RATIO))
        controls = (self.layer, self.perplexity, self.samples)
        self.stale = self.runner.mark_stale([self.view], self._key, controls)
        self.coords: torch.Tensor | None = None
        self._results = ResultCache(16)
        self._shown: tuple | None = None
        self._thumbnails: torch.Tensor | None = None
        self._thumbnails_of: Images | None = None
        for control in (self.color_by, self.thumbnails):
            control.observe(self._draw, "value")
        self._assemble(
            [row(controls), row([self.runner, self.color_by, self.thumbnails]), self.view]
        )
        self.status.show("choose a layer and press Run t-SNE")

    def _key(self) -> tuple[str, int, int]:
        """The setting a map is computed for: layer, perplexity and number of images."""
        return (self.layer.value, self.perplexity.value, self.samples.value)

    def exported_data(self) -> dict[str, list[dict[str, object]]]:
        """The map shown: each image's index, t-SNE coordinates and labels."""
        if self._shown is None or self.coords is None:
            return {}
        labels = self._shown[1]
        rows = []
        for index, (x, y) in enumerate(self.coords.tolist()):
            row: dict[str, object] = {"index": index, "x": x, "y": y}
            if labels is not None:
                names = HEADS if labels.dim() == 2 else ("label",)
                row |= dict(zip(names, labels[index].reshape(-1).tolist(), strict=False))
            rows.append(row)
        return {"tsne": rows}

    def run(self) -> None:
        """Features of the first `samples` images at `layer`, then their t-SNE (cached)."""
        key = self._key()
        subset = first_images(self.images, key[2])
        layer = key[0] or None  # "": the default, the last linear layer's input

        def work(progress: Progress) -> tuple[Features, torch.Tensor]:
            def compute() -> tuple[Features, torch.Tensor]:
                features = dataset_features(
                    self.model,
                    subset,
                    layer=layer,
                    pool="flatten" if layer is None else "mean",
                    progress=progress,
                )
                return features, tsne(features.values, perplexity=key[1], progress=progress)

            return self._results.get(key, compute)

        def done(result: tuple[Features, torch.Tensor]) -> None:
            features, self.coords = result
            self._shown = ((features.layer, *key[1:]), features.labels, subset)
            self._draw()
            self.stale.showing(key)

        what = f"features and t-SNE of {key[2]} images at {self.layer.label}"
        self.runner.start(work, done, what)

    @guarded
    def _draw(self, _change: dict | None = None) -> None:
        if self._shown is None or self.coords is None:
            return
        (layer, perplexity, count), labels, subset = self._shown
        if self.thumbnails.value:
            if self._thumbnails_of is not subset:  # the images of the last run, once
                images = torch.cat([x for x, _ in image_batches(subset, 256)])
                self._thumbnails = images[..., ::2, ::2]  # half size
                self._thumbnails_of = subset
            assert self._thumbnails is not None  # made with _thumbnails_of
            picture = thumbnail_map(self.coords, self._thumbnails, cells=THUMBNAIL_CELLS)
            show_png(self.view, picture, max(1, self.map_px // picture.shape[1]))
        else:
            colours, names = _colouring(labels, self.color_by.value, count)
            figure = _scatter(self.coords, colours, names, f"{layer}", width=self.map_px)
            png = _figure_png(figure, SCATTER_DPI)  # rendered at the size it is shown
            show_bytes(self.view, png, f"{self.map_px}px")
        self.status.show(f"t-SNE of {count} images at {layer}, perplexity {perplexity}")


def _samples_slider(count: int) -> widgets.IntSlider:
    """How many of the `count` images to map: 1,000 (or all) to start with.

    In steps of 100 where there are that many, one by one in a smaller dataset.
    """
    step = SAMPLE_STEP if count >= SAMPLE_STEP else 1
    return widgets.IntSlider(
        min(1000, count), min(step, count), count, step=step, description="images"
    )


def _colouring(
    labels: torch.Tensor | None, head: str, count: int
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Each of the `count` points' colour index and the legend's names.

    A shape-world head's classes for (N, 3) labels, the label values for (N,) labels, one colour
    without labels.
    """
    if labels is None:
        return torch.zeros(count, dtype=torch.long), ("images",)
    if labels.dim() == 2 and head in HEADS:
        return labels[:, HEADS.index(head)], HEAD_CLASSES[head]
    values = labels.flatten().long()
    return values, tuple(str(k) for k in range(int(values.max()) + 1))
