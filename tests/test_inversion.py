"""Code inversion: reconstructions reproduce the code they were asked to, early codes give back
the image, deep codes forget more, local fields match only their positions; the contract holds."""

import pytest
import torch

import cnnlens
from cnnlens.core.progress import Cancelled
from cnnlens.data import ShapeWorld
from cnnlens.errors import CnnlensError
from cnnlens.inversion import central, code_match, invert
from tests.snapshot import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def originals():
    return ShapeWorld(length=4, seed=1).batch(0, 2).images


def correlation(a, b):
    a = a.flatten(1) - a.flatten(1).mean(dim=1, keepdim=True)
    b = b.flatten(1) - b.flatten(1).mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1))


def test_an_early_code_gives_the_image_back(shapes, originals):
    result = invert(shapes, originals, "relu1", steps=60)
    code = cnnlens.capture(shapes, originals, "relu1")["relu1"]
    again = cnnlens.capture(shapes, result.images, "relu1")["relu1"]
    error = (again - code).flatten(1).norm(dim=1) / code.flatten(1).norm(dim=1)
    assert torch.allclose(result.error, error, rtol=1e-3, atol=1e-5)
    assert (result.error <= 0.1).all()
    assert (correlation(result.images, originals) >= 0.9).all()


def test_a_deep_code_forgets_more_than_an_early_one(shapes, originals):
    results = invert(shapes, originals, ["relu1", "relu4_2"], steps=30)
    assert list(results) == ["relu1", "relu4_2"]
    assert (results["relu4_2"].error > results["relu1"].error).all()
    early, deep = (correlation(results[k].images, originals) for k in ("relu1", "relu4_2"))
    assert (deep < early).all()


def test_a_central_field_matches_only_its_positions():
    values = torch.arange(2 * 3 * 9 * 9, dtype=torch.float32).reshape(2, 3, 9, 9)
    assert torch.equal(central(values, 5), values[..., 2:7, 2:7])
    assert torch.equal(central(values, None), values)
    code = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    changed = code.clone()
    changed[..., 0, :] += 100.0  # outside the central 5×5
    assert torch.allclose(code_match("a", code, field=5)({"a": changed}), torch.zeros(2))
    changed[..., 4, 4] += 1.0
    expected = -3.0 / code[..., 2:7, 2:7].flatten(1).pow(2).sum(dim=1)
    assert torch.allclose(code_match("a", code, field=5)({"a": changed}), expected)


def test_a_field_inversion_reports_the_error_on_its_field(shapes, originals):
    result = invert(shapes, originals[:1], "relu3", field=5, steps=30)
    code = central(cnnlens.capture(shapes, originals[:1], "relu3")["relu3"], 5)
    again = central(cnnlens.capture(shapes, result.images, "relu3")["relu3"], 5)
    error = (again - code).norm() / code.norm()
    assert result.field == 5 and result.error[0] == pytest.approx(error.item(), rel=1e-3)


@pytest.mark.parametrize(
    ("layer", "field", "message"),
    [
        ("relu9", None, "unknown layer 'relu9'"),
        ("fc", None, r"layer 'fc' outputs shape \(1, 18\), not \(C, H, W\) maps"),
        ("relu4_2", 9, "field 9 must be between 1 and the layer's 8×8 map"),
    ],
)
def test_bad_input_gets_one_line(shapes, originals, layer, field, message):
    with pytest.raises(CnnlensError, match=message) as info:
        invert(shapes, originals[:1], layer, field=field, steps=1)
    assert "\n" not in str(info.value)


def test_non_square_images_get_one_line(shapes, originals):
    with pytest.raises(CnnlensError, match=r"square images, got \(64, 48\) px"):
        invert(shapes, originals[:1, :, :, :48], "relu2", steps=1)


def test_inversion_leaves_the_model_unchanged_also_when_cancelled(shapes, originals):
    net = shapes.net
    net.train()
    net.fc.weight.grad = torch.ones_like(net.fc.weight)
    try:
        before = snapshot(net)
        invert(shapes, originals[:1], "relu2", steps=3)
        assert_unchanged(before, net)

        def cancel(done, total):
            if done == 2:
                raise Cancelled("cancelled")

        with pytest.raises(Cancelled):
            invert(shapes, originals[:1], "relu2", steps=10, progress=cancel)
        assert_unchanged(before, net)
    finally:
        net.fc.weight.grad = None
        net.eval()


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([], "no layer given"),
        (["relu1", "relu9"], "relu9"),
        (3, "layer names are strings"),
        (["relu1", "fc"], r"'fc' outputs shape \(2, 18\), not \(C, H, W\) maps"),
    ],
)
def test_bad_layers_are_said_before_any_optimization(shapes, originals, layers, message):
    steps = []
    with pytest.raises(CnnlensError, match=message):
        invert(shapes, originals, layers, steps=5, progress=lambda done, total: steps.append(done))
    assert steps == []
