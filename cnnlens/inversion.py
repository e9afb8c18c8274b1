"""Lecture 6, code inversion: which image has the same code at a layer?

Mahendran & Vedaldi, Understanding Deep Image Representations by Inverting Them, CVPR 2015,
https://arxiv.org/abs/1412.0035. Starting from noise, the render engine minimizes ‖Φ(x) − Φ0‖² /
‖Φ0‖² + λ_α‖x‖_α^α + λ_TV·TV(x), where Φ0 is the original image's code at the layer — all of it, or
only the central field×field positions, to see what one local code remembers. The layer is matched
as named (after its ReLU for a ReLU layer) with plain ReLUs, so the code is the network's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import torch

from cnnlens.core._legacy import legacy_calls, legacy_fields, warn_once
from cnnlens.core.capture import _images_for, capture
from cnnlens.core.layers import ModelLike, resolve_layers
from cnnlens.core.progress import Progress
from cnnlens.errors import CnnlensError
from cnnlens.featurevis.objectives import Objective, Values
from cnnlens.featurevis.params import Param
from cnnlens.featurevis.regularizers import AlphaNorm, TotalVariation
from cnnlens.featurevis.render import Preview, render

__all__ = ["Inversion", "central", "code_match", "invert"]


@legacy_fields(("layer", "field", "originals", "images", "error"))
@dataclass(frozen=True, kw_only=True)
class Inversion:
    """Reconstructions of images from their code at a layer, with each one's code error.

    Attributes:
        layer: The layer's name.
        field: The side of the central code region matched, or None for the whole map.
        originals: (N, 3, H, W) float tensor in [0, 1]: the inverted images.
        images: (N, 3, H, W) float tensor in [0, 1]: their reconstructions.
        error: (N,) float tensor: relative code error ‖Φ(x) − Φ0‖ / ‖Φ0‖, >= 0.
    """

    layer: str
    field: int | None
    originals: torch.Tensor
    images: torch.Tensor
    error: torch.Tensor


def central(values: torch.Tensor, field: int | None) -> torch.Tensor:
    """The central field×field positions of (N, C, H, W) values (all of them for None).

    Args:
        values: (N, C, H, W) tensor.
        field: Side of the central square, 1 to min(H, W); None for all positions.

    Returns:
        (N, C, field, field) tensor, or `values` itself.

    Raises:
        CnnlensError: `field` is outside 1..the map's side.
    """
    if field is None:
        return values
    height, width = values.shape[-2:]
    if not 1 <= field <= min(height, width):
        raise CnnlensError(f"field {field} must be between 1 and the layer's {height}×{width} map")
    top, left = (height - field) // 2, (width - field) // 2
    return values[..., top : top + field, left : left + field]


@legacy_calls(order=("layer", "code", "field"))
def code_match(layer: str, code: torch.Tensor, *, field: int | None = None) -> Objective:
    """Objective: minus the squared code distance to `code`, relative to ‖code‖² (per image).

    Args:
        layer: The layer's name.
        code: (N, C, H, W) float tensor: the target code at `layer`.
        field: Match only the central field×field positions; None for all.

    Returns:
        An `Objective` (to maximize) of N images; its value is <= 0, 0 for an exact match.
    """
    target = central(code, field)
    norm = target.flatten(1).pow(2).sum(dim=1).clamp_min(1e-12)

    def score(values: Values, _model: ModelLike | None) -> torch.Tensor:
        difference = central(values[layer], field) - target.to(values[layer])
        return -difference.flatten(1).pow(2).sum(dim=1) / norm.to(difference)

    where = "" if field is None else f" (central {field}×{field})"
    return Objective(
        score, frozenset({layer}), batch=len(code), name=f"code match at {layer}{where}"
    )


@overload
def invert(
    model: ModelLike,
    images: torch.Tensor,
    layers: str,
    *,
    field: int | None = ...,
    steps: int = ...,
    lr: float = ...,
    alpha: float = ...,
    alpha_strength: float = ...,
    tv_strength: float = ...,
    param: Param | None = ...,
    seed: int = ...,
    progress: Progress | None = ...,
    preview: Preview | None = ...,
    preview_every: int = ...,
) -> Inversion: ...


@overload
def invert(
    model: ModelLike,
    images: torch.Tensor,
    layers: list[str] | tuple[str, ...],
    *,
    field: int | None = ...,
    steps: int = ...,
    lr: float = ...,
    alpha: float = ...,
    alpha_strength: float = ...,
    tv_strength: float = ...,
    param: Param | None = ...,
    seed: int = ...,
    progress: Progress | None = ...,
    preview: Preview | None = ...,
    preview_every: int = ...,
) -> dict[str, Inversion]: ...


@legacy_calls(renamed={"layer": "layers"})
def invert(
    model: ModelLike,
    images: torch.Tensor,
    layers: str | Sequence[str],
    *,
    field: int | None = None,
    steps: int = 150,
    lr: float = 0.05,
    alpha: float = 6.0,
    alpha_strength: float = 1.0,
    tv_strength: float = 0.1,
    param: Param | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    preview: Preview | None = None,
    preview_every: int = 16,
) -> Inversion | dict[str, Inversion]:
    """Reconstruct images from their code at a layer, or at each of several (module docstring).

    The image is plain pixels (sigmoid-squashed RGB, as in Mahendran & Vedaldi, CVPR 2015,
    https://arxiv.org/abs/1412.0035) unless `param` says otherwise — Fourier helps deep layers; no
    random transforms are used, since the code of a shifted image is a different code.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        images: (N, 3, S, S) or (3, S, S) float tensor in [0, 1]; square.
        layers: Name of a layer with (C, H, W) maps, or a list (or tuple) of them, each inverted in
            turn with the same settings.
        field: Match only the central field×field code positions; None for the whole map.
        steps: Optimization steps.
        lr: Adam learning rate.
        alpha: Exponent α of the α-norm regularizer.
        alpha_strength: Weight λ_α of the α-norm.
        tv_strength: Weight λ_TV of the total variation.
        param: Image parametrization; default plain pixels (`Param(fourier=False,
            decorrelate=False)`).
        seed: Seed of the starting noise.
        progress: Optional callback `progress(done, total)` counting steps; may raise `Cancelled`.
        preview: Optional callback `preview(step, images)` receiving the (N, 3, S, S) images so far.
        preview_every: Steps between previews.

    Returns:
        The `Inversion`; for a list of layers, a dict {layer path: `Inversion`} in their order
            (repeats dropped).

    Raises:
        CnnlensError: The images are not square or otherwise invalid; no layer is given, or one is
            unknown, not a string or has no (C, H, W) maps; `field` is out of range.
        Cancelled: `progress` cancelled the optimization.
    """
    paths = resolve_layers(model, layers)
    originals = _images_for(model, images)
    if originals.shape[-2] != originals.shape[-1]:
        raise CnnlensError(f"inversion takes square images, got {tuple(originals.shape[-2:])} px")
    codes = capture(model, originals, paths)  # one forward for every layer's code
    for path, code in codes.items():  # every layer checked before any optimization
        if code.dim() != 4:
            raise CnnlensError(
                f"layer {path!r} outputs shape {tuple(code.shape)}, not (C, H, W) maps"
            )
    objectives = {
        path: code_match(path, code.detach(), field=field) for path, code in codes.items()
    }

    def one(path: str) -> Inversion:
        result = render(
            model,
            objectives[path],
            steps=steps,
            lr=lr,
            input_size=originals.shape[-1],
            param=param or Param(fourier=False, decorrelate=False),
            transforms=[],
            regularizers=[
                AlphaNorm(alpha_strength, alpha=alpha),
                TotalVariation(tv_strength),
            ],
            leaky=None,
            pre_relu=False,
            seed=seed,
            progress=progress,
            preview=preview,
            preview_every=preview_every,
        )
        error = (-result.values).clamp_min(0).sqrt()
        return Inversion(
            layer=path, field=field, originals=originals.cpu(), images=result.images, error=error
        )

    return one(paths[0]) if isinstance(layers, str) else {path: one(path) for path in paths}


def invert_layers(
    model: ModelLike, images: torch.Tensor, layers: Sequence[str], **settings: Any
) -> dict[str, Inversion]:
    """0.x name of `invert` with a list of layers.

    Args:
        model: The network.
        images: (N, 3, S, S) or (3, S, S) float tensor in [0, 1].
        layers: Layer names.
        **settings: Keyword options of `invert`.

    Returns:
        An `Inversion` per layer path.
    """
    warn_once(
        "invert_layers",
        "name",
        "invert_layers(...) is 0.x; cnnlens 1.0 takes invert(model, images, [layers])",
    )
    return invert(model, images, list(layers), **settings)
