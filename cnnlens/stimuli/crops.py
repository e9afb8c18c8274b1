"""Receptive-field crops of a unit's top examples: the part of each image the unit could see."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlens.core._inputs import check_unit
from cnnlens.core._legacy import legacy_calls
from cnnlens.core.capture import capture
from cnnlens.core.handle import _as_handle
from cnnlens.core.layers import ModelLike
from cnnlens.data._batches import Images, dataset_key, image_count, images_at
from cnnlens.errors import CnnlensError
from cnnlens.stimuli.receptive import ReceptiveField, receptive_field
from cnnlens.stimuli.topk import TopExamples, default_probe_set

OUTSIDE = 0.5  # gray where a field reaches past the image's edge (zero padding, seen as gray)


def _source_images(model: ModelLike, top: TopExamples, images: Images | None) -> Images:
    """The dataset `top` was scanned on (the default probe set unless given), checked to match."""
    images = (
        default_probe_set(size=_as_handle(model).input_size, count=top.scanned)
        if images is None
        else images
    )
    key = dataset_key(images)
    if key is not None and key != top.source:
        raise CnnlensError(f"these top examples come from {top.source}, not {key}")
    count = image_count(images)
    if count < top.scanned:
        raise CnnlensError(f"the scan saw {top.scanned} images; this dataset has {count}")
    return images


@legacy_calls(order=("model", "top", "unit", "images", "overlay"))
def unit_crops(
    model: ModelLike,
    top: TopExamples,
    unit: int,
    *,
    images: Images | None = None,
    overlay: bool = False,
) -> torch.Tensor:
    """Crops of a unit's receptive field around each top example's strongest position, best first.

    A layer without spatial maps (a classifier output) gives the whole images. The crops are the
    "top 9" grids of Zeiler & Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901.

    Args:
        model: The network: a `LoadedModel` or an `nn.Module`.
        top: The layer's `TopExamples` (from `top_examples`).
        unit: The unit (channel) of `top.layer`.
        images: The dataset `top` was scanned on, if not the default probe set: a `ShapeWorld`, a
            dataset or an (N, 3, H, W) float tensor in [0, 1].
        overlay: Dim pixels where the unit's upsampled map is low (to 0.2 of their value at the
            map's zero).

    Returns:
        (k, 3, S, S) float tensor in [0, 1], S the receptive field's side in pixels; gray (0.5)
        where the field reaches past the image.

    Raises:
        CnnlensError: `unit` is out of range; `images` is not the dataset `top` was scanned on
            (another source or size).
    """
    u = check_unit(unit, top.units, top.layer)
    examples = images_at(_source_images(model, top, images), top.indices[u].tolist())
    if overlay:
        examples = examples * _unit_light(model, top.layer, u, examples)
    if top.positions[u, 0, 0] < 0:
        return examples
    field = receptive_field(model, top.layer)
    return torch.stack(
        [
            crop(image, field, int(y), int(x))
            for image, (y, x) in zip(examples, top.positions[u], strict=True)
        ]
    )


@legacy_calls(order=("image", "field", "y", "x", "outside"))
def crop(
    image: torch.Tensor, field: ReceptiveField, y: int, x: int, *, outside: float = OUTSIDE
) -> torch.Tensor:
    """The (C, S, S) field of unit (y, x) cut from one image, `outside` where it leaves it.

    Args:
        image: (C, H, W) tensor.
        field: The layer's `ReceptiveField`; S is `field.size`.
        y: Row of the unit in the layer's map.
        x: Column of the unit in the layer's map.
        outside: Fill value where the field reaches past the image (0.5: gray in [0, 1] images).

    Returns:
        (C, S, S) tensor of `image`'s dtype.
    """
    size = image.shape[-1]
    top, left, _, _ = field.box(y, x)
    out = torch.full((image.shape[0], field.size, field.size), outside, dtype=image.dtype)
    t, l_, b, r = field.box(y, x, size)
    out[:, t - top : b - top, l_ - left : r - left] = image[:, t:b, l_:r]
    return out


def _unit_light(model: ModelLike, layer: str, unit: int, examples: torch.Tensor) -> torch.Tensor:
    """The unit's map upsampled to the image, scaled by its maximum: (k, 1, H, W) in [0.2, 1]."""
    maps = capture(model, examples, layer)[layer][:, unit : unit + 1].float().cpu()
    up = F.interpolate(maps, size=examples.shape[-2:], mode="bilinear", align_corners=False)
    peak = up.flatten(1).max(dim=1).values.clamp(min=1e-8)[:, None, None, None]
    return 0.2 + 0.8 * (up / peak).clamp(0, 1)
