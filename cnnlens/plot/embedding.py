"""Views for lecture 7: a labelled t-SNE scatter, a thumbnail map, a neighbour row."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnnlens.plot.images import grid, to_numpy
from cnnlens.plot.scales import _category_colours

SCATTER_DPI = 100


def _scatter(
    coords: torch.Tensor,
    labels: torch.Tensor,
    names: tuple[str, ...],
    title: str = "",
    width: int = 520,
) -> Figure:
    """A matplotlib Figure of the labelled scatter, `width` × 0.8 `width` display pixels.

    At SCATTER_DPI: save it at that dpi and show it at `width` px, never stretched. One dot per
    image, coloured by its label (see `draw_scatter`), with a legend. Raises ValueError for a width
    under 100 px.
    """
    if width < 100:
        raise ValueError(f"a scatter needs at least 100 px of width, got {width}")
    figure = Figure(figsize=(width / SCATTER_DPI, 0.8 * width / SCATTER_DPI), dpi=SCATTER_DPI)
    draw_scatter(figure.add_subplot(), coords, labels, names, title)
    figure.tight_layout()
    return figure


def draw_scatter(
    axes: Axes, coords: torch.Tensor, labels: torch.Tensor, names: tuple[str, ...], title: str = ""
) -> None:
    """Draw the labelled scatter into existing matplotlib axes.

    `coords` (N, 2), `labels` (N,) indices into `names`. Each class has its colour from
    `category_colours` (a shape-world colour in its own colour: "red" points are red) and a line in
    the legend, beside the map.
    """
    points = coords.numpy()
    for index, (name, colour) in enumerate(zip(names, _category_colours(names), strict=True)):
        mine = (labels == index).numpy()
        axes.scatter(points[mine, 0], points[mine, 1], s=6, label=name, color=colour, alpha=0.8)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=10)
    axes.legend(
        fontsize=7, markerscale=2, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False
    )


def thumbnail_map(coords: torch.Tensor, images: torch.Tensor, cells: int = 24) -> np.ndarray:
    """Images placed on a `cells` × `cells` grid at their 2-D positions: a dataset's t-SNE "map".

    One per cell: the image nearest the cell's centre wins; white where no image falls.
    """
    tile = images.shape[-1]
    low, high = coords.min(dim=0).values, coords.max(dim=0).values
    unit = (coords - low) / (high - low).clamp(min=1e-8) * (cells - 1)
    cell = unit.round().long()
    distance = (unit - cell).norm(dim=1)
    canvas = np.ones((cells * tile, cells * tile, 3), np.float32)
    taken: dict[tuple[int, int], float] = {}
    pictures = to_numpy(images)
    for i in torch.argsort(distance).tolist():
        x, y = cell[i].tolist()
        if (x, y) in taken:
            continue
        taken[(x, y)] = float(distance[i])
        row = cells - 1 - y  # up is up
        canvas[row * tile : (row + 1) * tile, x * tile : (x + 1) * tile] = pictures[i]
    return canvas


def neighbour_row(query: torch.Tensor, neighbours: torch.Tensor) -> np.ndarray:
    """The query (framed) followed by its neighbours, nearest first, in one row."""
    tiles = to_numpy(torch.cat([query[None], neighbours]))
    return grid(tiles, columns=len(tiles), pad=2, highlight=0)
