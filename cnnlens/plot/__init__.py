"""Views of plain results: grids, colormaps and PNG encoding (no math of the methods here)."""

from cnnlens.plot.attribution import gradient_picture, heat, overlay, signed
from cnnlens.plot.images import colorize, fit_scale, grid, png_bytes, to_numpy, upscale

__all__ = [
    "colorize",
    "fit_scale",
    "gradient_picture",
    "grid",
    "heat",
    "overlay",
    "png_bytes",
    "signed",
    "to_numpy",
    "upscale",
]
