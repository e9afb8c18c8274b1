"""The randomization sanity check: a copy is re-initialized, the model is not; the scores."""

import pytest
import torch
from scipy.stats import spearmanr

from cnnlens import CnnlensError
from cnnlens.attribution import grad_cam, guided_backprop
from cnnlens.attribution.sanity import randomization_check, rank_correlation, reinitialized
from cnnlens.data import ShapeWorld
from tests.snapshot import assert_unchanged, snapshot

TOP = ["conv4_1", "bn4_1", "conv4_2", "bn4_2", "fc"]


def test_reinitialized_copy_changes_only_the_named_layers(shapes):
    before = snapshot(shapes.net)
    copy = reinitialized(shapes, TOP, seed=3)
    assert_unchanged(before, shapes.net)
    for name, tensor in shapes.net.state_dict().items():
        same = torch.equal(tensor, copy.net.state_dict()[name])
        if name.split(".")[0] not in TOP:
            assert same, name
        elif name.endswith("weight"):
            assert not same, name
    again = reinitialized(shapes, TOP, seed=3)
    assert torch.equal(again.net.conv4_2.weight, copy.net.conv4_2.weight)


def test_rank_correlation_is_the_mean_spearman_per_image():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 5, 5, generator=generator), torch.rand(3, 5, 5, generator=generator)
    expected = sum(spearmanr(x.flatten(), y.flatten())[0] for x, y in zip(a, b, strict=True)) / 3
    assert rank_correlation(a, b) == pytest.approx(expected)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    with pytest.raises(CnnlensError, match="shapes differ"):
        rank_correlation(a, b[:2])


def test_guided_backprop_survives_randomization_and_grad_cam_does_not(shapes):
    batch = ShapeWorld(length=12, seed=3).batch(0, 12)
    classes = batch.labels[:, 0].tolist()
    guided = randomization_check(
        shapes, lambda m: guided_backprop(m, batch.images, classes).abs().amax(dim=1), TOP
    )
    cam = randomization_check(shapes, lambda m: grad_cam(m, batch.images, "relu3", classes), TOP)
    assert guided > 0.7 and cam < 0.3
