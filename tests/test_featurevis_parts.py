"""The pieces of feature visualization, each against an independent computation: objectives and
their algebra, parameterizations, transforms, regularizers and the leaky-ReLU swap."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from scipy.ndimage import rotate as rotate_image
from torch import nn

from cnnlens.data import ShapeWorld
from cnnlens.errors import CnnlensError
from cnnlens.featurevis import (
    OUTPUT,
    AlphaNorm,
    Blur,
    Param,
    TotalVariation,
    as_objective,
    channel,
    channel_interpolation,
    class_probability,
    color_sqrt,
    compose,
    direction,
    diversity,
    gaussian_blur,
    jitter,
    l1,
    layer_energy,
    leaky_relus,
    neuron,
    pad,
    resize,
    rotate,
    scale,
    shape_world_covariance,
    standard,
)
from cnnlens.featurevis.render import _last_channels
from cnnlens.featurevis.transforms import _sigma_schedule, center


@pytest.fixture
def values():
    g = torch.Generator().manual_seed(0)
    return {"a": torch.randn(3, 4, 5, 6, generator=g), "b": torch.randn(3, 2, 7, 7, generator=g)}


def test_objectives_compose_like_the_numbers_they_compute(values):
    a, b = values["a"], values["b"]
    combined = 2 * channel("a", 1) - channel("b", [0, 1, 0]) + 0.5 * layer_energy("b")
    expected = (
        2 * a[:, 1].mean(dim=(1, 2))
        - torch.stack([b[0, 0], b[1, 1], b[2, 0]]).mean(dim=(1, 2))
        + 0.5 * (b**2).mean(dim=(1, 2, 3))
    )
    assert torch.allclose(combined(values), expected)
    assert combined.layers == {"a", "b"} and combined.batch == 3
    assert torch.equal(sum([channel("a", 2)])(values), channel("a", 2)(values))
    assert torch.equal((-channel("a", 2))(values), -a[:, 2].mean(dim=(1, 2)))


def test_neuron_defaults_to_the_centre_and_takes_any_position(values):
    a = values["a"]
    assert torch.equal(neuron("a", 3)(values), a[:, 3, 2, 3])
    assert torch.equal(neuron("a", 3, y=0, x=5)(values), a[:, 3, 0, 5])
    with pytest.raises(CnnlensError, match=r"position \(y=9, x=0\) outside a's 5×6 map"):
        neuron("a", 3, y=9, x=0)(values)


def test_direction_interpolation_and_diversity(values):
    a = values["a"]
    v = torch.tensor([1.0, 0.0, 2.0, 0.0])
    expected = (a[:, 0] + 2 * a[:, 2]).mean(dim=(1, 2)) / 5**0.5
    assert torch.allclose(direction("a", v)(values), expected)
    mixed = channel_interpolation("a", 0, 3)(values)
    means = a.mean(dim=(2, 3))
    assert torch.allclose(
        mixed, torch.stack([means[0, 0], (means[1, 0] + means[1, 3]) / 2, means[2, 3]])
    )
    same = {"a": a[:1].expand(3, -1, -1, -1)}
    assert torch.allclose(diversity("a")(same), torch.full((3,), -1.0))
    orthogonal = torch.zeros(2, 2, 1, 1)
    orthogonal[0, 0], orthogonal[1, 1] = 1.0, 1.0  # Gram matrices diag(1, 0) and diag(0, 1)
    assert torch.allclose(diversity("a")({"a": orthogonal}), torch.zeros(2))
    with pytest.raises(CnnlensError, match="at least 2 images"):
        diversity("a")({"a": a[:1]})


def test_class_probability_is_the_softmax_within_the_head(shapes):
    logits = torch.randn(2, 18, generator=torch.Generator().manual_seed(1))
    got = class_probability(7)({OUTPUT: logits}, shapes)
    colour = torch.exp(logits[:, 6:12])
    assert torch.allclose(got, colour[:, 1] / colour.sum(dim=1))


def test_shorthand_and_one_line_errors(values):
    assert torch.equal(as_objective("a:2")(values), channel("a", 2)(values))
    for bad in ("a", "a:x", ":3", 5):
        with pytest.raises(CnnlensError) as info:
            as_objective(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(CnnlensError, match=r"different batch sizes \(2 and 3 images\)"):
        channel("a", [0, 1]) + channel("a", [0, 1, 2])
    with pytest.raises(CnnlensError, match="got 2 target indices for 3 images"):
        channel("a", [0, 1])(values)


@pytest.mark.parametrize("fourier", [False, True])
@pytest.mark.parametrize("decorrelate", [False, True])
def test_a_start_image_is_encoded_exactly(fourier, decorrelate):
    images = ShapeWorld(length=2, seed=4).batch(0, 2).images.clamp(0.01, 0.99)
    covariance = shape_world_covariance() if decorrelate else None
    param = Param(fourier=fourier, decorrelate=decorrelate, covariance=covariance)
    assert not decorrelate or not torch.equal(param._color(images), torch.eye(3))
    assert torch.allclose(param.encode(images)(), images, atol=1e-5)


def test_colour_decorrelation_is_a_scaled_square_root_of_the_covariance():
    world = ShapeWorld(length=256, seed=0).batch(0, 256).images.numpy()
    covariance = np.cov(np.moveaxis(world, 1, 0).reshape(3, -1))
    assert np.allclose(shape_world_covariance().numpy(), covariance, rtol=1e-4, atol=1e-7)
    root = color_sqrt(torch.as_tensor(covariance)).double()
    product = (root @ root.T).numpy()
    assert np.allclose(product / product[0, 0], covariance / covariance[0, 0], atol=1e-5)
    assert np.isclose(np.linalg.norm(root.numpy(), axis=0).max(), 1.0)
    with pytest.raises(CnnlensError, match="3×3"):
        color_sqrt(torch.eye(2))


def test_fourier_decay_makes_random_starts_smoother():
    def roughness(decay):
        generator = torch.Generator().manual_seed(0)
        param = Param(decay=decay, decorrelate=False)
        x = param.random(4, 32, generator, torch.empty(0)).spatial().detach()
        return (x[..., 1:] - x[..., :-1]).abs().mean() / (x - x.mean()).abs().mean()

    assert roughness(0.0) > 1.5 * roughness(1.0) > 2.25 * roughness(2.0)


def test_transforms_against_plain_tensor_operations():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=g)
    assert torch.allclose(jitter(0)(x, g), x, atol=1e-5)
    shifted = jitter(3)(x, torch.Generator().manual_seed(5))
    framed = F.pad(x, [3] * 4, value=0.5)
    shifts = [
        framed[..., 3 - dy : 19 - dy, 3 - dx : 19 - dx]
        for dy in range(-3, 4)
        for dx in range(-3, 4)
    ]
    assert sum(torch.allclose(shifted, s, atol=1e-5) for s in shifts) == 1
    padded = pad(2)(x, g)
    assert padded.shape == (2, 3, 20, 20) and torch.allclose(padded[..., 0, :], torch.tensor(0.5))
    assert torch.allclose(padded[..., 2:-2, 2:-2], x, atol=1e-5)
    assert torch.allclose(rotate(0.0)(x, g), x, atol=1e-5)
    assert torch.allclose(scale(0.0)(x, g), x, atol=1e-5)
    sizes = {scale(0.5)(x, g).shape[-1] for _ in range(10)}
    assert len(sizes) > 1 and all(8 <= s <= 24 for s in sizes)
    assert resize(9)(x, g).shape == (2, 3, 9, 9)


def test_standard_transforms_by_kind():
    assert len(standard(128)) == 5 and len(standard(128, kinds=["jitter"])) == 2
    assert standard(64, kinds=[]) == []
    with pytest.raises(CnnlensError, match=r"unknown transform\(s\) \['blur'\]"):
        standard(64, kinds=["pad", "blur"])


def smooth_images(size=32):
    """Low-frequency test images: resampling them twice or once differs only slightly."""
    g = torch.Generator().manual_seed(1)
    return F.interpolate(torch.rand(2, 3, 6, 6, generator=g), size=size, mode="bicubic").clamp(0, 1)


def test_scale_and_resize_match_interpolate_inside_the_border():
    x = smooth_images()
    scaled = scale(0.4)(x, torch.Generator().manual_seed(3))
    reference = F.interpolate(x, size=scaled.shape[-2:], mode="bilinear", align_corners=False)
    assert scaled.shape[-1] != 32
    assert torch.allclose(scaled[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-5)
    resized = resize(20)(x, torch.Generator())
    reference = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    assert torch.allclose(resized[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-5)


def test_rotate_matches_scipy_rotation_about_the_centre():
    x = smooth_images()
    turned = rotate(40.0)(x, torch.Generator().manual_seed(3))
    angle = -40.0 + 80.0 * torch.rand((), generator=torch.Generator().manual_seed(3)).item()
    reference = rotate_image(x[0].numpy(), angle, axes=(2, 1), reshape=False, order=1, cval=0.5)
    assert abs(angle) > 30  # scipy treats the outermost pixels differently: compare inside
    assert np.allclose(turned[0, :, 6:-6, 6:-6].numpy(), reference[:, 6:-6, 6:-6], atol=1e-5)


def test_a_composed_run_is_one_resampling_of_the_same_geometry():
    x = smooth_images()
    chain = [pad(4), jitter(3), scale(0.2), rotate(15.0), jitter(2), resize(32)]
    once = compose(chain)(x, torch.Generator().manual_seed(2))
    step_by_step, g = x, torch.Generator().manual_seed(2)
    for transform in chain:
        step_by_step = transform(step_by_step, g)
    other_draw, g = x, torch.Generator().manual_seed(3)
    for transform in chain:
        other_draw = transform(other_draw, g)
    assert once.shape == step_by_step.shape == (2, 3, 32, 32)
    # six bilinear resamplings blur a little more than one; another draw is far off
    assert (once - step_by_step).abs().mean() < 0.02 < 0.1 < (once - other_draw).abs().mean()
    integer_moves = [pad(3), jitter(2), jitter(2)]
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    expected = jitter(2)(jitter(2)(pad(3)(x, g2), g2), g2)
    assert torch.allclose(compose(integer_moves)(x, g1), expected, atol=1e-5)


def test_compose_keeps_other_callables_in_their_place():
    x = smooth_images()
    invert = lambda images, _generator: 1 - images  # noqa: E731
    ours = compose([pad(2), invert, pad(1, value=0.0)])(x, torch.Generator())
    expected = F.pad(1 - F.pad(x, [2] * 4, value=0.5), [1] * 4, value=0.0)
    assert torch.allclose(ours, expected, atol=1e-5)


def test_gaussian_blur_matches_scipy():
    x = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ours = gaussian_blur(x, 1.5)[0].numpy()
    theirs = np.stack([gaussian_filter(c, 1.5, mode="mirror", truncate=3.0) for c in x[0].numpy()])
    assert np.allclose(ours, theirs, atol=1e-6)
    assert torch.equal(gaussian_blur(x, 0.0), x)
    schedule = _sigma_schedule(2.0, 0.5)
    assert schedule(0.0) == 2.0 and schedule(1.0) == 0.5 and schedule(0.5) == 1.25


def test_regularizers_against_hand_computed_values():
    stripes = torch.zeros(1, 3, 8, 8)
    stripes[..., ::2] = 1.0  # vertical stripes: |dx| = 1 everywhere, dy = 0
    assert torch.allclose(TotalVariation(1.0)(stripes), torch.tensor([1.0]))
    assert torch.allclose(TotalVariation(3.0, beta=1.0)(stripes), torch.tensor([3.0]))
    flat = torch.full((2, 3, 8, 8), 0.7)
    assert torch.allclose(TotalVariation(1.0)(flat), torch.zeros(2))
    assert torch.allclose(l1(2.0)(flat), torch.full((2,), 0.4))
    assert torch.allclose(AlphaNorm(1.0, alpha=6)(flat), torch.full((2,), 0.2**6))
    assert torch.allclose(Blur(1.0)(flat, 0.5), torch.zeros(2), atol=1e-12)
    assert Blur(1.0)(stripes, 0.0).item() > Blur(1.0, sigma_start=0.3)(stripes, 0.0).item() > 0
    with pytest.raises(CnnlensError, match="strength must be ≥ 0"):
        TotalVariation(-1.0)


def test_leaky_relus_reroute_modules_and_functional_calls_and_leave_no_trace():
    x = torch.tensor([-2.0, 3.0], requires_grad=True)
    modes = torch._C._len_torch_function_stack()
    with leaky_relus(0.1):
        outs = [
            nn.ReLU()(x),
            nn.ReLU(inplace=True)(x.clone()),
            F.relu(x),
            F.relu(x.clone(), inplace=True),
            torch.relu(x),
            x.clone().relu_(),
        ]
    for out in outs:
        assert torch.allclose(out, torch.tensor([-0.2, 3.0]))
    (grad,) = torch.autograd.grad(outs[1].sum(), x)
    assert torch.allclose(grad, torch.tensor([0.1, 1.0]))
    assert torch._C._len_torch_function_stack() == modes
    assert torch.equal(nn.ReLU()(x), torch.tensor([0.0, 3.0]))
    with pytest.raises(CnnlensError, match="slope must be between 0 and 1"):
        leaky_relus(1.5)


def test_leaky_relus_leak_clipped_relus_at_both_ends():
    x = torch.tensor([-2.0, 3.0, 8.0], requires_grad=True)
    with leaky_relus(0.1):
        outs = [nn.ReLU6()(x), nn.ReLU6(inplace=True)(x.clone()), F.relu6(x)]
        outs.append(F.hardtanh(x, 0.0, 6.0))
    for out in outs:
        assert torch.allclose(out, torch.tensor([-0.2, 3.0, 6.2]))
    (grad,) = torch.autograd.grad(outs[1].sum(), x)
    assert torch.allclose(grad, torch.tensor([0.1, 1.0, 0.1]))


def test_objectives_say_which_channels_they_read():
    both = channel("a", 1) + neuron("a", [2, 3])
    assert both.channels_read("a") == {1, 2, 3}
    assert (2 * both - channel("a", np.int64(5))).channels_read("a") == {1, 2, 3, 5}
    assert (channel("a", 1) + layer_energy("a")).channels_read("a") is None
    assert channel("a", torch.tensor([4, 6])).channels_read("a") == {4, 6}
    assert channel("a", np.array([4, 6])).batch == 2 and channel("a", np.int64(4)).batch is None
    mixed = channel("a", 1) + channel("b", 2) + class_probability(0)
    assert mixed.channels_read("b") == {2} and mixed.channels_read(OUTPUT) is None
    assert _last_channels(channel("a", [1, 2]), {"a": "conv"}, truncate=True) == {"conv": {1, 2}}
    assert _last_channels(mixed, {"a": "x", "b": "y", OUTPUT: OUTPUT}, truncate=False) == {}
    assert _last_channels(channel("a", 1) + channel("b", 2), {"a": "x", "b": "y"}, True) == {}
    assert _last_channels(diversity("a"), {"a": "x"}, truncate=True) == {}


def test_center_cuts_the_middle_without_resampling():
    x = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).view(2, 3, 10, 12)
    assert torch.allclose(center(6)(x, torch.Generator()), x[:, :, 2:8, 3:9], atol=1e-3)
    with pytest.raises(CnnlensError, match="center crop must be at least 1"):
        center(0)
