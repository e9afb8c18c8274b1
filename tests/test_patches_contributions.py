"""Gradient patches and neuron-to-neuron contributions, against independent computations."""

import pytest
import torch

import cnnlens
from cnnlens import CnnlensError
from cnnlens.attribution import input_gradient, unit
from cnnlens.attribution.contributions import contribution_graph, contributions
from cnnlens.attribution.patches import gradient_patches
from cnnlens.data import ShapeWorld
from cnnlens.plot.contributions import _contribution_figure
from cnnlens.stimuli import receptive_field, top_examples
from cnnlens.stimuli.crops import unit_crops


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(length=100, seed=41)


def test_gradient_patches_are_each_examples_own_guided_backprop_cropped(shapes, world):
    top = top_examples(shapes, "relu4_1", images=world, k=4)
    patches = gradient_patches(shapes, top, 9, images=world)
    assert torch.equal(patches.crops, unit_crops(shapes, top, 9, images=world))
    field = receptive_field(shapes, "relu4_1")
    for i, (index, _, y, x) in enumerate(top.of(9)):
        alone = input_gradient(
            shapes, world[index][0][None], unit("relu4_1", 9, y=y, x=x), rule="guided"
        )
        t, l_, b, r = field.box(y, x, 64)
        top_, left, _, _ = field.box(y, x)
        inside = patches.gradients[i, :, t - top_ : b - top_, l_ - left : r - left]
        assert torch.allclose(inside, alone[0, :, t:b, l_:r], atol=1e-5)
        assert alone[0].abs().sum() == pytest.approx(inside.abs().sum().item(), rel=1e-4)


def test_contributions_add_up_to_a_bias_free_target(shapes, world):
    # conv4_2 has no bias and reads relu4_1 directly: gradient × activation sums to it exactly.
    image = world.batch(0, 1).images
    parts = contributions(shapes, image, "relu4_1", unit("conv4_2", 5))
    value = cnnlens.capture(shapes, image, "conv4_2")["conv4_2"][0, 5].mean()
    assert parts.shape == (128,)
    assert parts.sum().item() == pytest.approx(value.item(), abs=1e-4)


def test_contributions_match_autograd_on_a_plain_copy(shapes, world):
    image = world.batch(1, 1).images
    parts = contributions(shapes, image, "relu3", unit("relu4_2", 3))
    head = shapes.net[:11].eval()  # conv1 ... relu3
    tail = shapes.net[11:18].eval()  # pool3 ... relu4_2
    a = head(image).detach().requires_grad_(True)
    tail(a)[0, 3].mean().backward()
    assert torch.allclose(parts, (a.grad * a)[0].sum(dim=(1, 2)), atol=1e-5)


def test_contribution_graph_follows_the_strongest_contributors(shapes, world):
    image = world.batch(2, 1).images
    graph = contribution_graph(shapes, image, ["relu3", "relu4_1", "relu4_2"], 11, fanout=2)
    assert list(graph.nodes[-1]) == [11] and len(graph.nodes[1]) == 2
    strongest = contributions(shapes, image, "relu4_1", unit("relu4_2", 11)).abs().topk(2).indices
    assert set(graph.nodes[1]) == set(strongest.tolist())
    assert len(graph.edges) == 2 + 2 * 2 and 1 <= len(graph.nodes[0]) <= 4
    assert _contribution_figure(graph).axes


def test_bad_requests_fail_in_one_line(shapes, world):
    image = world.batch(0, 1).images
    with pytest.raises(CnnlensError, match="does not depend"):
        contributions(shapes, image, "relu3", unit("relu2", 0))
    with pytest.raises(CnnlensError, match="at least two layers"):
        contribution_graph(shapes, image, ["relu3"], 0)
    with pytest.raises(CnnlensError, match="one image"):
        contributions(shapes, world.batch(0, 2).images, "relu2", unit("relu3", 0))
    top = top_examples(shapes, "fc", images=world, k=2)
    with pytest.raises(CnnlensError, match="no spatial map"):
        gradient_patches(shapes, top, 0, images=world)
