"""Views of plain results: grids, colormaps and PNG encoding (no math of the methods here)."""

from cnnlens.plot.attribution import gradient_picture, heat, overlay, signed
from cnnlens.plot.images import colorize, fit_scale, grid, png_bytes, to_numpy, upscale
from cnnlens.plot.scales import Scale, draw_map, heat_scale, level_scale, signed_scale

__all__ = [
    "Scale",
    "colorize",
    "draw_map",
    "fit_scale",
    "gradient_picture",
    "grid",
    "heat",
    "heat_scale",
    "level_scale",
    "overlay",
    "png_bytes",
    "signed",
    "signed_scale",
    "to_numpy",
    "upscale",
]
