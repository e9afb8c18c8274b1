"""Views of plain results: grids, colormaps and PNG encoding (no math of the methods here)."""

from cnnlens.plot.attribution import gradient_picture, heat, overlay, signed
from cnnlens.plot.contributions import draw_contributions
from cnnlens.plot.dissection import save_report, unit_strip
from cnnlens.plot.embedding import draw_scatter, neighbour_row, thumbnail_map
from cnnlens.plot.images import colorize, fit_scale, grid, png_bytes, to_numpy, upscale
from cnnlens.plot.scales import (
    ImshowKwargs,
    Scale,
    draw_map,
    heat_scale,
    level_scale,
    signed_scale,
)
from cnnlens.plot.stimuli import boxed, crop_grid

__all__ = [
    "ImshowKwargs",
    "Scale",
    "boxed",
    "colorize",
    "crop_grid",
    "draw_contributions",
    "draw_map",
    "draw_scatter",
    "fit_scale",
    "gradient_picture",
    "grid",
    "heat",
    "heat_scale",
    "level_scale",
    "neighbour_row",
    "overlay",
    "png_bytes",
    "save_report",
    "signed",
    "signed_scale",
    "thumbnail_map",
    "to_numpy",
    "unit_strip",
    "upscale",
]
