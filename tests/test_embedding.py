"""The feature space: dataset features, nearest neighbours, kNN agreement and t-SNE."""

import pytest
import torch

import cnnlens
from cnnlens import CnnlensError
from cnnlens.data import ShapeWorld
from cnnlens.embedding import (
    dataset_features,
    feature_layer_label,
    knn_agreement,
    last_linear_layer,
    nearest,
    tsne,
)
from cnnlens.embedding.features import last_feature_layer


@pytest.fixture(scope="module")
def world():
    return ShapeWorld(length=300, seed=21)


def test_last_linear_layer(shapes, zoo):
    assert last_linear_layer(shapes) == "fc"
    assert last_linear_layer(zoo["resnet18"]) == "fc"
    assert last_linear_layer(zoo["vgg16"]) == "classifier.6"


def test_the_default_is_the_input_of_the_last_linear_layer(zoo):
    """Read with a hook on VGG16's classifier.6 (fc8), independently of cnnlens's recording."""
    vgg, images = zoo["vgg16"], torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    seen = []
    handle = vgg.net.classifier[6].register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    try:
        with torch.no_grad():
            vgg.net.eval()(vgg.normalize(images))
    finally:
        handle.remove()
    features = dataset_features(vgg, images)
    assert features.layer == feature_layer_label(vgg) == "classifier.6 (input)"
    assert feature_layer_label(vgg, layer="conv1") == "features.0"  # an alias names its path
    assert torch.allclose(features.values, seen[0], atol=1e-5)


def test_a_layer_name_means_its_output_and_the_0x_input_suffix_still_works_once(shapes, world):
    """1.0: "layer" is always a layer's output (as in capture and render's "layer:unit"). The 0.x
    "fc:input" and last_feature_layer() give the default's values, with one FutureWarning each."""
    images = world.batch(0, 12).images
    default = dataset_features(shapes, images)
    assert default.layer == feature_layer_label(shapes) == "fc (input)"
    flat = dataset_features(shapes, images, layer="flatten")  # the module that feeds fc
    assert flat.layer == "flatten" and torch.equal(flat.values, default.values)
    with pytest.warns(FutureWarning, match="last_feature_layer\\(\\) is 0.x"):
        old_name = last_feature_layer(shapes)
    with pytest.warns(FutureWarning, match="layer='fc:input'\\) is 0.x"):
        old = dataset_features(shapes, images, layer=old_name)
    assert old.layer == "fc (input)" and torch.equal(old.values, default.values)


def test_features_equal_the_pooled_maps_and_carry_labels(shapes, world):
    features = dataset_features(shapes, world, batch_size=64)
    images = world.batch(0, len(world)).images
    maps = cnnlens.capture(shapes, images, "relu4_2")["relu4_2"]
    assert features.values.shape == (300, 128)
    assert torch.allclose(features.values, maps.mean(dim=(2, 3)), atol=1e-5)
    assert torch.equal(features.labels, world.batch(0, len(world)).labels)
    mean = dataset_features(shapes, images[:10], layer="relu4_2", pool="mean")
    assert torch.allclose(mean.values, maps[:10].mean(dim=(2, 3)), atol=1e-5)
    assert mean.labels is None
    flat = dataset_features(shapes, images[:10], layer="relu4_2")
    assert torch.allclose(flat.values, maps[:10].flatten(1), atol=1e-5)


def test_nearest_matches_brute_force_distances():
    points = torch.randn(50, 7, generator=torch.Generator().manual_seed(0))
    queries = points[:3] + 0.01
    indices, distances = nearest(points, queries, k=4, normalize=False)
    exact = torch.cdist(queries, points)
    assert torch.equal(indices, exact.topk(4, largest=False).indices)
    assert torch.allclose(distances, exact.topk(4, largest=False).values, atol=1e-3)
    assert indices[:, 0].tolist() == [0, 1, 2]


def test_knn_agreement_matches_a_direct_count():
    points = torch.randn(40, 3, generator=torch.Generator().manual_seed(1))
    labels = (points[:, 0] > 0).long()
    distances = torch.cdist(points, points) + torch.eye(40) * 1e9
    neighbours = distances.topk(3, largest=False).indices
    expected = (labels[neighbours] == labels[:, None]).float().mean().item()
    assert knn_agreement(points, labels, k=3, normalize=False) == pytest.approx(expected)


def test_feature_space_groups_shapes_and_pixel_space_does_not(shapes, world):
    features = dataset_features(shapes, world)
    pixels = world.batch(0, len(world)).images
    shape = features.labels[:, 0]
    in_features, in_pixels = knn_agreement(features.values, shape), knn_agreement(pixels, shape)
    assert in_features > 0.7 and in_pixels < 0.4  # chance is 1/6; 300 images only


def test_tsne_is_seeded_and_keeps_neighbourhoods(shapes, world):
    features = dataset_features(shapes, world)
    first, again = tsne(features.values, perplexity=20), tsne(features.values, perplexity=20)
    assert first.shape == (300, 2) and torch.equal(first, again)
    shape = features.labels[:, 0]
    assert knn_agreement(first, shape, normalize=False) > 0.7


def test_bad_requests_fail_in_one_line(shapes, world):
    with pytest.raises(CnnlensError, match="perplexity"):
        tsne(torch.randn(20, 4), perplexity=30)
    with pytest.raises(CnnlensError, match="pool must be"):
        dataset_features(shapes, world, pool="max")
    with pytest.raises(CnnlensError, match="k must be"):
        nearest(torch.randn(5, 2), torch.randn(1, 2), k=6)
    with pytest.raises(CnnlensError, match="dimensions"):
        nearest(torch.randn(5, 2), torch.randn(1, 3), k=2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tsne(torch.rand(3, 5)), r"t-SNE needs at least 4 points \(3 neighbours each"),
        (lambda: tsne(torch.rand(50, 5)), r"perplexity must be between 1 and 16\.3 for 50 points"),
        (lambda: tsne(torch.ones(40, 8), perplexity=5), "all 40 points are the same vector"),
        (lambda: tsne(torch.full((40, 8), float("nan")), perplexity=5), "NaN or infinite"),
        (lambda: nearest(torch.full((5, 2), float("inf")), torch.zeros(1, 2), k=2), "NaN or inf"),
        (lambda: knn_agreement(torch.rand(5, 2), torch.zeros(5), k=5), "k must be between 1 and 4"),
    ],
)
def test_degenerate_point_sets_fail_in_one_line(call, message):
    with pytest.raises(CnnlensError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def test_tsne_works_down_to_four_points_and_partly_repeated_ones():
    assert torch.isfinite(tsne(torch.rand(4, 5), perplexity=1)).all()
    points = torch.rand(40, 8)
    points[:20] = 0  # half a dead layer still has a layout
    assert torch.isfinite(tsne(points, perplexity=5)).all()


@pytest.mark.parametrize("layer", [3, 0])
def test_a_layer_that_is_not_a_name_gets_one_line(shapes, world, layer):
    with pytest.raises(CnnlensError, match="layer names are strings like 'relu3', got int"):
        dataset_features(shapes, world, layer=layer)
