"""Custom targets (pytorch-grad-cam's idea): a score callable on the output or on a layer explains
anything, through every method that takes a target, and equals the built-in target it mirrors."""

import pytest
import torch

import cnnlens
from cnnlens.attribution import (
    Target,
    cam,
    grad_cam,
    input_gradient,
    integrated_gradients,
    occlusion,
    unit,
)
from cnnlens.data import ShapeWorld


@pytest.fixture(scope="module")
def x():
    return ShapeWorld(length=3, seed=12).batch(0, 3).images


def test_a_score_on_the_logits_is_the_class_target_it_computes(shapes, x):
    assert torch.equal(
        input_gradient(shapes, x, lambda logits: logits[:, 3]), input_gradient(shapes, x, 3)
    )
    custom = grad_cam(shapes, x, "relu3", Target(score=lambda logits: logits[:, 2]))
    assert torch.equal(custom, grad_cam(shapes, x, "relu3", 2))
    assert torch.equal(
        occlusion(shapes, x[:1], lambda logits: logits[:, 4], window=16, stride=16),
        occlusion(shapes, x[:1], 4, window=16, stride=16),
    )


def test_a_contrast_between_classes_is_the_difference_of_their_gradients(shapes, x):
    """Gradients are linear: d(z3 - z5)/dx = dz3/dx - dz5/dx."""
    contrast = input_gradient(shapes, x, lambda logits: logits[:, 3] - logits[:, 5])
    expected = input_gradient(shapes, x, 3) - input_gradient(shapes, x, 5)
    assert torch.allclose(contrast, expected, atol=1e-6)
    path = integrated_gradients(shapes, x[:1], lambda logits: logits[:, 3] - logits[:, 5], steps=4)
    assert torch.allclose(
        path,
        integrated_gradients(shapes, x[:1], 3, steps=4)
        - integrated_gradients(shapes, x[:1], 5, steps=4),
        atol=1e-5,
    )


def test_a_score_on_a_layer_stops_the_forward_there_like_a_unit_target(shapes, x):
    mean_of_unit_5 = Target(layer="relu3", score=lambda maps: maps[:, 5].mean(dim=(1, 2)))
    assert torch.allclose(
        input_gradient(shapes, x, mean_of_unit_5),
        input_gradient(shapes, x, unit("relu3", 5)),
        atol=1e-7,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x: Target(), "a Target takes a unit"),
        (lambda m, x: Target(unit=1, score=lambda z: z[:, 1]), "a Target takes a unit"),
        (
            lambda m, x: input_gradient(m, x, lambda z: z),
            r"one value per image, shape \(3,\); got \(3, 18\)",
        ),
        (
            lambda m, x: input_gradient(m, x, lambda z: 1.0),
            r"one value per image, shape \(3,\); got float",
        ),
        (lambda m, x: cam(m, x, lambda z: z[:, 1]), "CAM explains a class logit"),
    ],
)
def test_bad_custom_targets_fail_in_one_line(shapes, x, call, message):
    with pytest.raises(cnnlens.CnnlensError, match=message) as error:
        call(shapes, x)
    assert "\n" not in str(error.value)
