"""Raster primitives of the shape world: vectorized shape tests and texture patterns.

Everything here works on small numpy coordinate arrays (no per-pixel Python loops), so a whole
64×64 scene is drawn in well under a millisecond. Shapes are defined at unit circumradius: a point
(u, v) in the object's rotated frame, divided by the circumradius, is inside when the shape's test
says so. Because every shape fits the unit circle, an object whose circumcircle is inside the image
is fully inside the image, whatever its rotation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RING_INNER = 0.55  # inner / outer radius of the ring
CROSS_HALF_WIDTH = 0.33  # half width of a cross bar, at unit circumradius
CROSS_HALF_LENGTH = float(np.sqrt(1.0 - CROSS_HALF_WIDTH**2))  # bar end corners on the unit circle
STAR_INNER = 0.45  # radius of the star's inner vertices (its points are at radius 1)

_STAR_SECTOR = 2 * np.pi / 5
# Outward normal (along, across) of the star edge from its tip (1, 0) to an inner vertex.
_STAR_NORMAL = (STAR_INNER * float(np.sin(np.pi / 5)), 1.0 - STAR_INNER * float(np.cos(np.pi / 5)))
# Outward normals of an equilateral triangle pointing up (towards -v); its inradius is 1/2.
_TRIANGLE_NORMALS = tuple(
    (float(np.cos(a)), float(np.sin(a))) for a in np.pi / 2 + np.arange(3) * 2 * np.pi / 3
)

ShapeTest = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Disc of radius 1."""
    return u * u + v * v <= 1.0


def _ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Annulus between radius RING_INNER and 1."""
    r2 = u * u + v * v
    return (r2 <= 1.0) & (r2 >= RING_INNER**2)


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Square inscribed in the unit circle."""
    return np.maximum(np.abs(u), np.abs(v)) <= np.sqrt(0.5)


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Equilateral triangle inscribed in the unit circle: three half-planes at inradius 1/2."""
    (au, av), (bu, bv), (cu, cv) = _TRIANGLE_NORMALS
    return (u * au + v * av <= 0.5) & (u * bu + v * bv <= 0.5) & (u * cu + v * cv <= 0.5)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Plus sign: union of two perpendicular bars whose corners touch the unit circle."""
    au, av = np.abs(u), np.abs(v)
    long_side = np.maximum(au, av) <= CROSS_HALF_LENGTH
    return long_side & (np.minimum(au, av) <= CROSS_HALF_WIDTH)


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Five-pointed star: fold the polar angle into one half point, then test one edge."""
    angle = np.arctan2(u, -v)  # 0 points up
    folded = np.abs(np.mod(angle + _STAR_SECTOR / 2, _STAR_SECTOR) - _STAR_SECTOR / 2)
    radius = np.sqrt(u * u + v * v)
    along, across = radius * np.cos(folded), radius * np.sin(folded)
    return along * _STAR_NORMAL[0] + across * _STAR_NORMAL[1] <= _STAR_NORMAL[0]


SHAPE_TESTS: dict[str, ShapeTest] = {
    "circle": _circle,
    "square": _square,
    "triangle": _triangle,
    "cross": _cross,
    "star": _star,
    "ring": _ring,
}

UNIT_AREAS: dict[str, float] = {  # exact area of each shape at circumradius 1
    "circle": float(np.pi),
    "square": 2.0,
    "triangle": float(3 * np.sqrt(3) / 4),
    "cross": 8 * CROSS_HALF_LENGTH * CROSS_HALF_WIDTH - 4 * CROSS_HALF_WIDTH**2,
    "star": float(5 * STAR_INNER * np.sin(np.pi / 5)),
    "ring": float(np.pi * (1 - RING_INNER**2)),
}


def circumradius(shape: str, side: float) -> float:
    """Circumradius giving `shape` the area of a side×side square, so all shapes weigh alike."""
    return side / float(np.sqrt(UNIT_AREAS[shape]))


def footprint(
    shape: str, cy: float, cx: float, radius: float, angle: float, size: int
) -> tuple[slice, slice, np.ndarray]:
    """Pixels covered by a rotated shape, as (rows, cols, inside) cropped to its bounding box.

    Pixel (r, c) has its centre at (r + 0.5, c + 0.5); it is covered when that centre is inside.
    """
    y0, y1 = max(int(cy - radius), 0), min(int(np.ceil(cy + radius)) + 1, size)
    x0, x1 = max(int(cx - radius), 0), min(int(np.ceil(cx + radius)) + 1, size)
    dy = (np.arange(y0, y1, dtype=np.float32)[:, None] + (0.5 - cy)) / radius
    dx = (np.arange(x0, x1, dtype=np.float32)[None, :] + (0.5 - cx)) / radius
    cos, sin = np.cos(angle), np.sin(angle)
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    return slice(y0, y1), slice(x0, x1), SHAPE_TESTS[shape](u, v)


def _stripes(n: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Two-tone stripes along one axis of length n, integer period 4–8 px (scaled)."""
    period = max(2, round(rng.integers(4, 9) * scale))
    phase = rng.integers(period)
    return ((np.arange(n) + phase) % period) < period // 2


def _hstripes(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Horizontal stripes (constant along each row)."""
    return _stripes(h, rng, scale)[:, None]


def _vstripes(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Vertical stripes (constant along each column)."""
    return _stripes(w, rng, scale)[None, :]


def _checker(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Checkerboard with square cells of 3–4 px (scaled), i.e. a period of 6–8 px."""
    cell = max(2, round(rng.integers(3, 5) * scale))
    py, px = rng.integers(2 * cell, size=2)
    return ((np.arange(h)[:, None] + py) // cell + (np.arange(w)[None, :] + px) // cell) % 2 == 1


def _dots(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Round dots on a square grid of period 6–8 px (scaled), radius about a quarter period."""
    period = max(4, round(rng.integers(6, 9) * scale))
    radius = rng.uniform(0.2, 0.3) * period
    py, px = rng.integers(period, size=2)
    dy = (np.arange(h)[:, None] + py) % period - (period - 1) / 2
    dx = (np.arange(w)[None, :] + px) % period - (period - 1) / 2
    return dy * dy + dx * dx <= radius * radius


def _noise(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Blocky value noise: uniform random values on blocks of 2–4 px (scaled)."""
    block = max(1, round(rng.integers(2, 5) * scale))
    values = rng.random((-(-h // block), -(-w // block)), dtype=np.float32)
    return values.repeat(block, axis=0).repeat(block, axis=1)[:h, :w]


TEXTURE_PATTERNS: dict[str, Callable[[int, int, np.random.Generator, float], np.ndarray]] = {
    "hstripes": _hstripes,
    "vstripes": _vstripes,
    "dots": _dots,
    "checker": _checker,
    "noise": _noise,
}


def texture_pattern(
    texture: str, h: int, w: int, rng: np.random.Generator, scale: float
) -> np.ndarray:
    """Random pattern of a textured patch: weights in [0, 1] of the second tone.

    Broadcastable to (h, w); `scale` (image size / 64) scales periods so textures look alike at
    every size.
    """
    return TEXTURE_PATTERNS[texture](h, w, rng, scale)
