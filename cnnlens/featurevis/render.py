"""The render engine: gradient ascent on the input images to maximize an objective.

The forward runs only as far as the deepest layer the objective reads, a whole batch of images
(e.g. one per unit) is optimized at once, and only the images get gradients. Randomness (start
noise, transforms) comes from one seeded generator, so a render is bit-reproducible. ReLU layers
are read before their ReLU by default (a dead unit has no gradient), and ReLUs leak during the
render. The steps run on a fast working copy of the network (`featurevis.fastcopy`: shared weights,
BatchNorm folded, channels-last); the model is exactly as before afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace

import torch
from torch import nn

from cnnlens.core._inputs import check_images
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import RELUS, _forward_pass, _normalize_for, _sequential_neighbour
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike, as_net, resolve_layer
from cnnlens.core.progress import Progress
from cnnlens.core.progress import _steps as tracked
from cnnlens.errors import CnnlensError
from cnnlens.featurevis._fastcopy import fast_copy, graph_facts
from cnnlens.featurevis.init import _model_mean_image, gray
from cnnlens.featurevis.leaky import leaky_relus
from cnnlens.featurevis.objectives import OUTPUT, Objective, as_objective
from cnnlens.featurevis.params import Param, ParamImage
from cnnlens.featurevis.regularizers import Regularizer
from cnnlens.featurevis.transforms import Transform, center, compose, standard

Preview = Callable[[int, torch.Tensor], None]
LEAKY_SLOPE = 0.01  # small: enough for a gradient, barely changes what the network computes


@dataclass(frozen=True)
class Rendering:
    """The optimized images and the objective on them.

    Attributes:
        images: (N, 3, H, W) float tensor in [0, 1].
        values: (N,) float tensor: the objective, measured by a plain forward (real ReLUs, no
            transforms).
        layers: Each layer the objective names, mapped to the module path actually read.
        history: (steps, N) float tensor: the objective at each step.
    """

    images: torch.Tensor
    values: torch.Tensor
    layers: dict[str, str]
    history: torch.Tensor


def _before_relu(net: nn.Module, path: str) -> str:
    """The module feeding a ReLU in an nn.Sequential (its pre-ReLU value); other paths unchanged."""
    if not isinstance(net.get_submodule(path), RELUS):
        return path
    return _sequential_neighbour(net, path, -1) or path


def _layer_paths(model: ModelLike, objective: Objective, pre_relu: bool) -> dict[str, str]:
    """The module path to read for each layer the objective names (OUTPUT stays itself)."""
    net = as_net(model)
    paths = {}
    for name in sorted(objective.layers):
        path = name if name == OUTPUT else resolve_layer(net, name)
        paths[name] = _before_relu(net, path) if pre_relu and name != OUTPUT else path
    return paths


def _last_channels(
    objective: Objective, paths: dict[str, str], truncate: bool
) -> dict[str, frozenset[int]]:
    """{path: channels} when the forward stops at the one path the objective reads, else {}.

    Only when only those channels of it are read (the render computes no others there).
    """
    inner = {path for path in paths.values() if path != OUTPUT}
    if not truncate or len(inner) != 1:
        return {}
    reads = [objective.channels_read(name) for name in paths]
    subsets = [read for read in reads if read is not None]
    return {} if len(subsets) < len(reads) else {inner.pop(): frozenset[int]().union(*subsets)}


def _chain(
    transforms: Sequence[Transform], net: nn.Module, example: torch.Tensor
) -> list[Transform]:
    """`transforms`, ending with a center crop back to the render size when the network needs it.

    The crop is added when the network takes only images of that size (`example`: one normalized
    image of it) — pad and scale make them larger. Any-size networks see the transformed images as
    they are (Lucid's standard).
    """
    facts = graph_facts(net, example)
    if not transforms or facts is None or facts.any_size:
        return list(transforms)
    return [*transforms, center(example.shape[-1])]


def _start_images(
    model: ModelLike,
    param: Param,
    init: str | torch.Tensor,
    count: int,
    size: int,
    generator: torch.Generator,
    like: torch.Tensor,
) -> ParamImage:
    """The parameterized start: random, gray, the model's mean image, or given images.

    "random" (noise in parameter space), "gray", "mean" (the model's mean training image,
    `model_mean_image`) or given images (one, or one per image of the batch).
    """
    if isinstance(init, torch.Tensor):
        images = check_images(init)  # one-line errors for grayscale, NaN, integer, ...
        if images.shape[-2:] != (size, size):
            raise CnnlensError(
                f"start images are {tuple(images.shape[-2:])} px but the render is {size}×{size}"
            )
        if len(images) not in (1, count):
            raise CnnlensError(f"got {len(images)} start images for a batch of {count}")
        return param.encode(images.expand(count, -1, -1, -1).to(like))
    if init == "random":
        return param.random(count, size, generator, like)
    if init == "gray":
        return param.encode(gray(count, size).to(like))
    if init == "mean":
        return param.encode(_model_mean_image(model, count, size).to(like))
    raise CnnlensError(f"unknown start {init!r}; use 'random', 'gray', 'mean' or a tensor")


def _check_settings(steps_: int, lr: float, size: int, count: int) -> None:
    if steps_ < 1:
        raise CnnlensError(f"steps must be at least 1, got {steps_}")
    if lr <= 0:
        raise CnnlensError(f"the learning rate must be positive, got {lr:g}")
    if size < 8:
        raise CnnlensError(f"images must be at least 8 pixels, got {size}")
    if count < 1:
        raise CnnlensError(f"the batch must hold at least one image, got {count}")


@legacy_calls(renamed={"size": "input_size", "batch": "count"})
def render(
    model: ModelLike,
    objective: Objective | str,
    *,
    steps: int = 128,
    lr: float = 0.05,
    input_size: int | None = None,
    count: int | None = None,
    param: Param | None = None,
    transforms: Sequence[Transform] | None = None,
    regularizers: Sequence[Regularizer] = (),
    init: str | torch.Tensor = "random",
    leaky: float | None = LEAKY_SLOPE,
    pre_relu: bool = True,
    seed: int = 0,
    progress: Progress | None = None,
    preview: Preview | None = None,
    preview_every: int = 16,
) -> Rendering:
    """Images that maximize `objective` by `steps` Adam steps: activation maximization.

    Olah et al., Feature Visualization, Distill 2017,
    https://distill.pub/2017/feature-visualization/; class models: Simonyan et al., ICLR 2014
    workshop, https://arxiv.org/abs/1312.6034.

    Args:
        model: The network: a `LoadedModel` (its normalization is applied) or an `nn.Module`.
        objective: An `Objective`, or "layer:unit".
        steps: Adam steps; >= 1.
        lr: Adam learning rate; > 0.
        input_size: Side of the images in pixels (>= 8); None for the start images' side, else the
            model's.
        count: Number of images; None for the objective's (one per listed unit), else the number of
            start images, else 1.
        param: Image parameterization; None for `Param()` (Fourier, decorrelated). Colour is
            decorrelated by the model's colour covariance (`Param.for_model`) unless the param
            gives its own; a model whose handle has none (a plain module, a torchvision
            classifier) is rendered in plain RGB.
        transforms: Random transforms before each forward; None for `standard(size)`, [] for none.
        regularizers: Penalties subtracted from the objective.
        init: "random", "gray", "mean" (the model's mean training image where its handle has one,
            else a flat image of its normalization mean, else gray: `model_mean_image`), or start
            images: (3, S, S) or (N, 3, S, S) float tensor in [0, 1].
        leaky: Negative slope of the ReLUs during the render; None for plain ReLUs.
        pre_relu: Read a ReLU layer before its ReLU (a dead unit still has a gradient).
        seed: Seed of the start noise and the transforms.
        progress: Called as `progress(done, total)` after each step; may raise `Cancelled`.
        preview: Called as `preview(step, images)` every `preview_every` steps, with the (N, 3, H,
            W) images so far.
        preview_every: Steps between previews.

    Returns:
        The `Rendering`: images, their objective values and the objective's history.

    Raises:
        CnnlensError: `steps` < 1, `lr` <= 0, an image side < 8 or a count < 1; an unknown `init`;
            start images of another size or count; an objective string not "layer:unit"; an unknown
            layer, or one that did not run in the forward pass.
        Cancelled: `progress` cancelled the render.
    """
    handle = _as_handle(model)
    net = handle.net
    objective = as_objective(objective)
    if isinstance(init, torch.Tensor) and input_size is None:
        input_size = init.shape[-1]
    size = input_size or handle.input_size
    given = len(init) if isinstance(init, torch.Tensor) and init.dim() == 4 else None
    count = count or objective.batch or given or 1
    _check_settings(steps, lr, size, count)
    paths = _layer_paths(model, objective, pre_relu)
    param = (param or Param()).for_model(model)
    relus = nullcontext() if leaky is None else leaky_relus(leaky)
    like = next(net.parameters(), torch.empty(0))
    generator = torch.Generator().manual_seed(seed)
    image = _start_images(model, param, init, count, size, generator, like.detach())
    optimizer = torch.optim.Adam([image.leaf], lr=lr, fused=True)  # one kernel per step
    history = []
    inner = [path for path in paths.values() if path != OUTPUT]
    truncate = OUTPUT not in paths
    with torch.no_grad():
        example = _normalize_for(model, image()[:1])
    transform = compose(_chain(standard(size) if transforms is None else transforms, net, example))
    only = _last_channels(objective, paths, truncate)
    working, layout = fast_copy(net, example, keep=inner, only=only)
    # The fast copy runs under the model's handle (its normalization and logits).
    with _forward_pass(
        replace(handle, net=working), inner, grad=True, truncate=truncate
    ) as forward:
        rec = forward.recorded

        def score(x: torch.Tensor) -> torch.Tensor:
            output = forward(x, layout=layout)
            missing = [path for path in inner if path not in rec]
            if missing:
                raise CnnlensError(f"layer(s) {missing} did not run in the forward pass")
            return objective(
                {n: handle.logits(output) if p == OUTPUT else rec[p] for n, p in paths.items()},
                model,
            )

        for step in tracked(range(steps), steps, progress):
            optimizer.zero_grad(set_to_none=True)
            x = image()
            with relus:
                values = score(transform(x, generator))
            loss = -values.sum() + sum(r(x, step / max(steps - 1, 1)).sum() for r in regularizers)
            loss.backward()
            optimizer.step()
            history.append(values.detach())
            if preview is not None and ((step + 1) % preview_every == 0 or step + 1 == steps):
                preview(step + 1, image().detach().cpu())
        with torch.no_grad():
            final = image()
            values = score(final)
    return Rendering(final.cpu(), values.detach().cpu(), paths, torch.stack(history).cpu())
