"""The render engine on the embedded model: it maximizes what it is asked to, reads the layers it
should, stops the forward early, is reproducible, reports progress, and keeps the contract."""

import pytest
import torch
from torch import nn

import cnnlens
from cnnlens.core.progress import Cancelled
from cnnlens.data import ShapeWorld, shape_world_covariance, shape_world_mean
from cnnlens.errors import CnnlensError
from cnnlens.featurevis import (
    Param,
    channel,
    class_logit,
    class_probability,
    compose,
    jitter,
    mean_image,
    multifaceted,
    neuron,
    render,
    standard,
    strongest_images,
)
from cnnlens.featurevis.init import _model_mean_image
from cnnlens.featurevis.render import _before_relu, _chain
from tests.small_nets import fixed_size_net
from tests.snapshot import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(length=200, seed=3).batch(0, 200).images


def test_a_channel_render_beats_every_dataset_image(shapes, world):
    units = [3, 40]
    result = render(shapes, channel("relu4_2", units), steps=32)
    assert result.layers == {"relu4_2": "bn4_2"}, "ReLU layers are read before the ReLU"
    dataset = cnnlens.capture(shapes, world, "bn4_2")["bn4_2"].mean(dim=(2, 3))
    recomputed = cnnlens.capture(shapes, result.images, "bn4_2")["bn4_2"].mean(dim=(2, 3))
    for i, unit in enumerate(units):
        assert result.values[i] == pytest.approx(recomputed[i, unit].item(), rel=1e-4, abs=1e-4)
        assert result.values[i] > dataset[:, unit].max()
    assert result.history.shape == (32, 2)
    assert (result.history[-1] > result.history[0]).all()


def test_pre_relu_can_be_turned_off(shapes):
    result = render(shapes, "relu4_2:3", steps=2, pre_relu=False)
    assert result.layers == {"relu4_2": "relu4_2"}
    assert result.values.min() >= 0


def test_a_class_render_is_classified_as_its_class(shapes):
    result = render(shapes, class_probability([4, 9]), steps=32)
    assert (result.values >= 0.9).all()
    with torch.no_grad():
        logits = shapes.net(result.images)
    assert logits[0, :6].argmax() == 4 and logits[1, 6:12].argmax() == 9 - 6


def test_renders_are_bit_reproducible_and_seeded(shapes):
    first = render(shapes, "bn3:5", steps=6, seed=1)
    again = render(shapes, "bn3:5", steps=6, seed=1)
    other = render(shapes, "bn3:5", steps=6, seed=2)
    assert torch.equal(first.images, again.images)
    assert not torch.equal(first.images, other.images)


def test_a_batch_of_units_renders_as_each_unit_alone(shapes):
    settings = {"steps": 8, "init": "gray", "transforms": [jitter(2)], "seed": 4}
    together = render(shapes, channel("bn3", [1, 7]), **settings)
    for i, unit in enumerate([1, 7]):
        alone = render(shapes, channel("bn3", unit), **settings)
        # equal up to float summation order in the batched convolutions, amplified by Adam
        assert (together.images[i] - alone.images[0]).abs().mean() < 2e-3
        assert together.values[i] == pytest.approx(alone.values[0].item(), rel=1e-3)
    assert (together.images[0] - together.images[1]).abs().mean() > 0.05


def test_a_neuron_render_changes_only_its_receptive_field(shapes):
    param = Param(fourier=False, decorrelate=False)
    settings = {"steps": 5, "init": "gray", "transforms": [], "param": param}
    result = render(shapes, neuron("conv1", 2), **settings)  # 5×5 kernel at the centre (32, 32)
    changed = (result.images[0] != 0.5).any(dim=0)
    expected = torch.zeros(64, 64, dtype=torch.bool)
    expected[30:35, 30:35] = True
    assert torch.equal(changed, expected)


def test_the_forward_stops_at_the_objectives_layer(shapes):
    calls = []
    handle = shapes.net.conv4_1.register_forward_hook(lambda *_: calls.append(1))
    try:
        render(shapes, "bn2:0", steps=3)
        assert not calls
        render(shapes, "bn4_1:0", steps=3)
        assert len(calls) == 4  # three steps and the final measurement
    finally:
        handle.remove()


def test_preview_and_progress_callbacks(shapes):
    previews, reports = [], []
    render(
        shapes,
        channel("bn3", [0, 1, 2]),
        steps=10,
        preview=lambda step, images: previews.append((step, tuple(images.shape))),
        preview_every=4,
        progress=lambda done, total: reports.append((done, total)),
    )
    assert previews == [(4, (3, 3, 64, 64)), (8, (3, 3, 64, 64)), (10, (3, 3, 64, 64))]
    assert reports == [(k, 10) for k in range(11)]


def test_the_embedded_models_handle_carries_its_training_datas_colour_and_mean(shapes):
    covariance = Param().for_model(shapes).covariance
    assert covariance is not None and torch.equal(covariance, shape_world_covariance())
    assert torch.equal(_model_mean_image(shapes, 2, 32)[1], shape_world_mean(32))
    decorrelated = render(shapes, "bn3:0", steps=2, init="mean")
    given = render(shapes, "bn3:0", steps=2, init="mean", param=Param(covariance=covariance))
    assert torch.equal(decorrelated.images, given.images)
    plain = render(shapes, "bn3:0", steps=2, init="mean", param=Param(decorrelate=False))
    assert not torch.equal(decorrelated.images, plain.images)


def test_a_model_without_data_statistics_renders_in_plain_rgb_from_an_honest_mean(shapes):
    assert Param().for_model(shapes.net).covariance is None  # a plain module: none known
    plain = render(shapes.net, "bn3:0", steps=2, init="mean")
    rgb = render(shapes.net, "bn3:0", steps=2, init="gray", param=Param(decorrelate=False))
    assert torch.equal(plain.images, rgb.images)  # no decorrelation, a gray "mean"
    imagenet = cnnlens.load(shapes.net, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    flat = _model_mean_image(imagenet, 1, 8)  # its normalization's mean, everywhere
    assert torch.allclose(flat[0, :, 3, 5], torch.tensor([0.485, 0.456, 0.406]))


def test_start_images(shapes, world):
    mean = mean_image(2, 64, images=world)
    assert torch.allclose(mean[1], world.mean(dim=0))
    result = render(shapes, "bn3:0", steps=1, lr=1e-6, init=world[5], transforms=[])
    assert torch.allclose(result.images[0], world[5].clamp(1e-3, 1 - 1e-3), atol=1e-4)
    acts = cnnlens.capture(shapes, world, "bn4_2")["bn4_2"][:, 9].mean(dim=(1, 2))
    top = acts.topk(16).indices
    assert set(strongest_images(shapes, world, "bn4_2", 9, k=16).tolist()) == set(top.tolist())
    facets = multifaceted(shapes, world, "bn4_2", 9, facets=1, k=16)
    assert torch.allclose(facets[0], world[top].mean(dim=0), atol=1e-6)
    assert multifaceted(shapes, world, "bn4_2", 9, facets=3, k=16).shape == (3, 3, 64, 64)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: render(m, "bn9:0", steps=1), "unknown layer 'bn9'.*did you mean"),
        (lambda m: render(m, "bn3:500", steps=1), "unit 500 out of range: 'bn3' has units 0..95"),
        (lambda m: render(m, "bn3:1", steps=0), "steps must be at least 1"),
        (lambda m: render(m, "bn3:1", steps=1, init="noise"), "unknown start 'noise'"),
        (lambda m: render(m, "bn3:1", steps=1, leaky=2.0), "slope must be between 0 and 1"),
        (
            lambda m: render(m, "bn3:1", steps=1, init=torch.rand(16, 16)),
            r"must have shape \(N, 3, H, W\)",
        ),
        (
            lambda m: render(m, "bn3:1", steps=1, init=torch.full((3, 16, 16), float("nan"))),
            "NaN",
        ),
        (
            lambda m: render(m, "bn3:1", steps=1, input_size=16, init=torch.rand(3, 24, 24)),
            r"start images are \(24, 24\) px but the render is 16×16",
        ),
    ],
)
def test_bad_input_gets_one_line(shapes, call, message):
    with pytest.raises(CnnlensError, match=message) as info:
        call(shapes)
    assert "\n" not in str(info.value)


@pytest.fixture
def disturbed(shapes):
    """The embedded model in training mode, with a gradient, a frozen weight and a user hook."""
    net = shapes.net
    net.train()
    net.conv1.weight.requires_grad_(False)
    net.fc.weight.grad = torch.ones_like(net.fc.weight)
    hook = net.register_forward_hook(lambda *_: None)
    yield shapes
    hook.remove()
    net.conv1.weight.requires_grad_(True)
    net.fc.weight.grad = None
    net.eval()


def _cancel_at(step):
    def progress(done, total):
        if done == step:
            raise Cancelled("cancelled")

    return progress


def test_renders_leave_the_model_unchanged_also_when_cancelled_or_failing(disturbed, world):
    model = disturbed
    before = snapshot(model.net)
    render(model, class_probability(3) + 0.1 * channel("relu3", 2), steps=3)
    assert_unchanged(before, model.net)
    multifaceted(model, world[:40], "relu4_2", 1, facets=2, k=8)
    assert_unchanged(before, model.net)
    with pytest.raises(Cancelled):
        render(model, "relu4_2:1", steps=10, progress=_cancel_at(3))
    assert_unchanged(before, model.net)
    with pytest.raises(CnnlensError):
        render(model, channel("bn3", [1, 2]) + channel("bn3", 500), steps=2)
    assert_unchanged(before, model.net)


@pytest.mark.parametrize("name", ["vgg16", "googlenet"])
def test_zoo_models_render_and_stay_unchanged(zoo, name):
    model = zoo[name]
    layer = "features.8" if name == "vgg16" else "inception3a.branch1.conv"
    before = snapshot(model.net)
    result = render(model, channel(layer, [0, 1]), steps=2, input_size=48)
    assert result.images.shape == (2, 3, 48, 48) and torch.isfinite(result.values).all()
    assert_unchanged(before, model.net)


def test_before_relu_finds_the_module_feeding_a_relu(shapes, zoo):
    vgg = zoo["vgg16"].net
    assert _before_relu(vgg, "features.22") == "features.21"
    assert _before_relu(vgg, "features.21") == "features.21"
    assert _before_relu(shapes.net, "relu1") == "bn1"
    resnet = zoo["resnet18"].net  # layer1.0.relu is reused inside a BasicBlock, not a Sequential
    assert _before_relu(resnet, "layer1.0.relu") == "layer1.0.relu"


def test_a_fixed_size_model_renders_with_the_standard_transforms():
    torch.manual_seed(0)
    net = fixed_size_net()
    rendering = render(net, class_logit(1), input_size=32, steps=4)  # pad and scale: 36 px and more
    assert rendering.images.shape == (1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(rendering.values, net(rendering.images)[:, 1], atol=1e-6)
    example = torch.rand(1, 3, 32, 32)
    transform = compose(_chain(standard(32), net, example))
    assert transform(example, torch.Generator().manual_seed(0)).shape == (1, 3, 32, 32)
    # A network that takes any size sees the transformed images as they are (Lucid's standard).
    assert len(_chain(standard(32), nn.Conv2d(3, 2, 3), example)) == len(standard(32))
