"""The attribution shape convention and `attribution_map`, against values worked out by hand."""

import pytest
import torch

from cnnlens.attribution import (
    attribution_map,
    cam,
    deconvnet,
    grad_cam,
    gradient_times_input,
    guided_backprop,
    guided_grad_cam,
    input_gradient,
    integrated_gradients,
    occlusion,
    saliency,
    smoothgrad,
)
from cnnlens.core import CnnlensError

# One pixel, three colour channels: -3, 1 and 2.
PIXEL = torch.tensor([-3.0, 1.0, 2.0]).reshape(1, 3, 1, 1)


@pytest.mark.parametrize(("reduce", "expected"), [("max_abs", 3.0), ("abs_sum", 6.0), ("sum", 0.0)])
def test_each_reduction_of_one_pixel(reduce, expected):
    assert attribution_map(PIXEL, reduce=reduce).tolist() == [[[expected]]]


def test_resizing_is_bilinear_with_half_pixel_centres():
    """A 1×2 map [a, b] at 1×4: pixel centres 0.25 and 0.75 of the way between a and b's."""
    a, b = 4.0, 8.0
    resized = attribution_map(torch.tensor([[[a, b]]]), size=(1, 4))
    assert resized.tolist() == [[[a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b]]]


def test_a_map_without_colour_axis_is_only_resized():
    maps = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(attribution_map(maps, reduce="sum"), maps)
    assert attribution_map(maps, size=10).shape == (2, 10, 10)


METHODS = {  # name: (call, per colour channel, at the layer's 16×16 resolution)
    "input_gradient": (lambda m, x, t: input_gradient(m, x, t), True, False),
    "saliency": (lambda m, x, t: saliency(m, x, t), False, False),
    "gradient_times_input": (lambda m, x, t: gradient_times_input(m, x, t), False, False),
    "deconvnet": (lambda m, x, t: deconvnet(m, x, t), True, False),
    "guided_backprop": (lambda m, x, t: guided_backprop(m, x, t), True, False),
    "smoothgrad": (lambda m, x, t: smoothgrad(m, x, t, samples=2), True, False),
    "integrated_gradients": (lambda m, x, t: integrated_gradients(m, x, t, steps=4), True, False),
    "occlusion": (lambda m, x, t: occlusion(m, x, t, window=16, stride=16), False, False),
    "cam": (lambda m, x, t: cam(m, x, t), False, True),
    "grad_cam": (lambda m, x, t: grad_cam(m, x, "relu3", t), False, True),
    "guided_grad_cam": (lambda m, x, t: guided_grad_cam(m, x, "relu3", t), True, False),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_follows_the_convention(shapes, shape_images, name):
    """Per-channel methods give (N, 3, H, W), per-position ones (N, H, W), the CAM family its
    layer's (N, h, w); `attribution_map` makes each an (N, H, W) map of the image."""
    call, per_channel, coarse = METHODS[name]
    x = shape_images[:2]
    values = call(shapes, x, [0, 3])
    side = 8 if name == "cam" else 16 if coarse else 64  # relu4_2 feeds the GAP; relu3 is 16×16
    assert values.shape == ((2, 3, side, side) if per_channel else (2, side, side))
    assert attribution_map(values, size=64).shape == (2, 64, 64)


def test_saliency_is_the_max_abs_map_of_the_gradient(shapes, shape_images):
    x = shape_images[:2].clone().requires_grad_(True)
    logits = shapes.net(shapes.normalize(x))
    (logits[0, 0] + logits[1, 3]).backward()
    by_hand = x.grad.abs().max(dim=1).values
    assert torch.allclose(saliency(shapes, shape_images[:2], [0, 3]), by_hand, atol=1e-6)


@pytest.mark.parametrize(
    ("values", "reduce", "message"),
    [
        (PIXEL, "mean", "reduce must be one of"),
        (PIXEL.long(), "max_abs", "float tensor, got Tensor of torch.int64"),
        ([[1.0]], "max_abs", "float tensor, got list"),
        (
            torch.zeros(1, 2, 4, 4),
            "max_abs",
            r"\(N, 3, H, W\) or \(N, H, W\), got shape \(1, 2, 4, 4\)",
        ),
        (torch.zeros(4, 4), "max_abs", "add the batch axis"),
    ],
)
def test_bad_input_gets_one_line(values, reduce, message):
    with pytest.raises(CnnlensError, match=message):
        attribution_map(values, reduce=reduce)
