"""Occlusion against an independent one-window-per-forward loop, ground truth and its errors."""

import pytest
import torch

import cnnlens
from cnnlens.attribution import unit
from cnnlens.attribution.occlusion import occlusion
from cnnlens.data import ShapeWorld
from tests.small_nets import LeNet


def _naive_occlusion(model, image, cls, window, stride, fill):
    """One forward per window; each pixel averages the drops of the windows covering it. The
    windows go every `stride` px, plus a last one flush with the border."""
    net = model.net.eval()
    size = image.shape[-1]
    starts = sorted({*range(0, size - window + 1, stride), size - window})
    with torch.no_grad():
        base = net(model.normalize(image[None]))[0, cls]
        total, hits = torch.zeros(size, size), torch.zeros(size, size)
        for top in starts:
            for left in starts:
                occluded = image.clone()
                occluded[:, top : top + window, left : left + window] = fill
                drop = base - net(model.normalize(occluded[None]))[0, cls]
                total[top : top + window, left : left + window] += drop
                hits[top : top + window, left : left + window] += 1
    assert (hits > 0).all()
    return total / hits


@pytest.mark.parametrize(("window", "stride"), [(8, 4), (12, 10), (8, 6)])  # 10, 6: a last window
def test_occlusion_matches_a_naive_loop(shapes, window, stride):
    images = ShapeWorld(length=2, seed=3).batch(0, 2).images
    ours = occlusion(
        shapes, images, [1, 4], window=window, stride=stride, baselines=0.5, batch_size=7
    )
    for n, cls in enumerate([1, 4]):
        reference = _naive_occlusion(shapes, images[n], cls, window, stride, 0.5)
        assert torch.allclose(ours[n], reference, atol=1e-4)


def test_occlusion_of_a_unit_matches_a_naive_loop(shapes):
    # Several windows per image run in separate forwards of one call: each must stop at the layer.
    image = ShapeWorld(length=1, seed=3).batch(0, 1).images
    ours = occlusion(shapes, image, unit("relu3", 5, y=4, x=3), window=8, stride=8, batch_size=5)
    base = cnnlens.capture(shapes, image, "relu3")["relu3"][0, 5, 4, 3]
    for top, left in [(0, 0), (16, 24), (56, 56)]:
        occluded = image.clone()
        occluded[..., top : top + 8, left : left + 8] = 0.5
        drop = base - cnnlens.capture(shapes, occluded, "relu3")["relu3"][0, 5, 4, 3]
        assert ours[0, top, left].item() == pytest.approx(drop.item(), abs=1e-4)


def test_occlusion_points_at_the_object(shapes):
    batch = ShapeWorld(length=12, seed=11).batch(0, 12, masks=True)
    maps = occlusion(shapes, batch.images, batch.labels[:, 0].tolist(), window=8, stride=4)
    peaks = maps.flatten(1).argmax(dim=1)
    hits = batch.object_masks.flatten(1)[torch.arange(12), peaks]
    assert hits.float().mean() >= 0.8, f"pointing game {hits.float().mean():.2f}"


def test_occlusion_errors(shapes):
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(cnnlens.CnnlensError, match="window 65 must be between 1 and"):
        occlusion(shapes, x, 0, window=65)
    with pytest.raises(cnnlens.CnnlensError, match="stride must be between 1 and the window 8"):
        occlusion(shapes, x, 0, stride=0)
    with pytest.raises(cnnlens.CnnlensError, match="a longer stride leaves pixels no window"):
        occlusion(shapes, x, 0, window=2, stride=16)
    with pytest.raises(cnnlens.CnnlensError, match="got 2 target indices for 1 images"):
        occlusion(shapes, x, [0, 1])


def test_the_border_rows_get_the_drop_of_the_window_flush_with_the_border(shapes):
    """window 8, stride 6 on 64 px: windows start at 0, 6, ..., 54 and a last one at 56, the only
    one covering rows and columns 62 and 63."""
    image = ShapeWorld(length=1, seed=4).batch(0, 1).images
    ours = occlusion(shapes, image, 2, window=8, stride=6)
    occluded = image.clone()
    occluded[..., 56:, 56:] = 0.5
    with torch.no_grad():
        logits = shapes.net(shapes.normalize(torch.cat([image, occluded])))[:, 2]
    assert ours[0, 63, 63].item() == pytest.approx((logits[0] - logits[1]).item(), abs=1e-4)


def test_a_view_flatten_model_gets_its_own_memory_format():
    torch.manual_seed(0)
    model = cnnlens.load(LeNet(), input_size=32)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = occlusion(model, images, [1, 3], window=8, stride=8)
    for n, cls in enumerate([1, 3]):
        assert torch.allclose(
            ours[n], _naive_occlusion(model, images[n], cls, 8, 8, 0.5), atol=1e-5
        )
