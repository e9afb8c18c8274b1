"""Network Dissection: exact thresholds, IoU against ground truth, top images, exports, contract."""

import csv

import pytest
import torch
import torch.nn.functional as F
from small_nets import LeNet
from snapshot import assert_unchanged, snapshot
from torch import nn

import cnnlens
from cnnlens import CnnlensError
from cnnlens.core.progress import Cancelled
from cnnlens.data import COLOR_RGB, CONCEPT_NAMES
from cnnlens.dissection import ShapeWorldProbe, TailQuantile, dissect, to_csv
from cnnlens.dissection._masks import active_masks, upsample
from cnnlens.dissection.report import to_html
from cnnlens.widgets import DissectionBrowser


class ColorUnits(nn.Module):
    """Unit k is 1 exactly where the image shows colour COLORS[k], else 0 (full resolution)."""

    def __init__(self, colors):
        super().__init__()
        self.register_buffer("rgb", torch.tensor([COLOR_RGB[c] for c in colors]))

    def forward(self, x):
        distance = (x[:, None] - self.rgb[None, :, :, None, None]).abs().amax(dim=2)
        return (distance < 0.01).float()


def color_net(*colors):
    return nn.Sequential(ColorUnits(colors))


@pytest.mark.parametrize("q", [0.995, 0.9, 0.5])
def test_streamed_threshold_is_the_exact_quantile_on_a_small_set(q):
    values = torch.randn(7, 3000, generator=torch.Generator().manual_seed(0)).relu()
    for total in (None, 3000):  # unknown length (buffer of 4096) or announced (just the tail)
        sketch = TailQuantile(7, q, total=total)
        for block in values.split(128, dim=1):
            sketch.update(block)
        assert sketch.exact
        expected = torch.quantile(values, q, dim=1)
        assert torch.allclose(sketch.value(), expected, rtol=0, atol=1e-6)


def test_beyond_its_buffer_the_sketch_is_within_alpha_with_memory_fixed():
    generator = torch.Generator().manual_seed(1)
    sizes = {}
    for length in (20_000, 80_000):
        values = torch.randn(4, length, generator=generator).exp() - 0.5  # negatives too
        sketch = TailQuantile(4, 0.995, exact=16, alpha=0.005)
        for block in values.split(1000, dim=1):
            sketch.update(block)
        assert not sketch.exact
        expected = torch.quantile(values, 0.995, dim=1)
        assert ((sketch.value() - expected).abs() <= 0.005 * expected.abs() + 1e-6).all()
        sizes[length] = sketch.nbytes
    assert sizes[20_000] == sizes[80_000]


def test_unit_masks_are_bilinear_upsampling_thresholded_and_skip_only_empty_ones():
    maps = torch.randn(5, 6, 8, 8, generator=torch.Generator().manual_seed(2))
    reference = F.interpolate(maps, size=(64, 64), mode="bilinear", align_corners=False)
    assert torch.allclose(upsample(maps, (64, 64)), reference, atol=1e-5)
    thresholds = torch.linspace(0.5, 2.5, 6)
    active = active_masks(maps, thresholds, (64, 64))
    full = torch.zeros(5, 6, 64, 64, dtype=torch.bool)
    full[active.images, active.units] = active.masks
    expected = reference > thresholds[None, :, None, None]
    near_threshold = (reference - thresholds[None, :, None, None]).abs() < 1e-5
    assert (full == expected)[~near_threshold].all()
    assert 0 < len(active.units) < 30, "pairs whose peak is below the threshold are skipped"


def test_a_unit_firing_exactly_on_a_concept_gets_iou_one_there_and_ground_truth_elsewhere():
    probe = ShapeWorldProbe(length=120, seed=3)
    # Top 10%: far more than red or green cover, so T_k = 0 and the mask is the colour itself.
    result = dissect(color_net("red", "green"), "0", probe=probe, top_fraction=0.1, progress=None)
    masks = probe.batch(0, 120, masks=True).masks.flatten(2).float()  # (N, C, P)
    red, green = CONCEPT_NAMES.index("color:red"), CONCEPT_NAMES.index("color:green")
    for unit, concept in ((0, red), (1, green)):
        assert result.iou[unit, concept] == pytest.approx(1.0)
        unit_mask = masks[:, concept : concept + 1]
        inter = (unit_mask * masks).sum(dim=(0, 2))
        union = (unit_mask.sum() + masks.sum(dim=(0, 2)) - inter).clamp(min=1)
        assert torch.allclose(result.iou[unit].float(), inter / union, atol=1e-6)
        others = [
            c for c, name in enumerate(probe.concepts) if c != concept and "shape" not in name
        ]
        assert result.iou[unit, others].max() == 0, "other colours and textures never overlap"
    labels = result.labels()
    assert [(r.concept, r.category, r.detector) for r in labels] == [
        ("color:red", "color", True),
        ("color:green", "color", True),
    ]
    assert result.detectors() == {"shape": 0, "color": 2, "texture": 0}
    assert result.unique_concepts() == ["color:red", "color:green"]


def test_top_images_have_the_highest_peaks_and_their_thresholded_masks(shapes):
    probe = ShapeWorldProbe(length=40, seed=4)
    result = dissect(shapes, "relu4_1", probe=probe, k=3, batch_size=16, progress=None)
    images = probe.batch(0, 40, masks=False).images
    with torch.no_grad():
        maps = shapes.net[:15](images)  # conv1 ... relu4_1
    peaks = maps.amax(dim=(2, 3))
    best = peaks.topk(3, dim=0).values.T
    assert torch.allclose(result.top_values, best)
    upsampled = F.interpolate(maps, size=(64, 64), mode="bilinear", align_corners=False)
    for unit in (0, 37, 101):
        chosen, unit_masks = result.top_images(unit)
        index = result.top_indices[unit]
        assert torch.equal(chosen, images[index])
        expected = upsampled[index, unit] > result.thresholds[unit]
        assert (unit_masks != expected).float().mean() < 1e-3  # ulp-level ties only
    exact = torch.quantile(maps.transpose(0, 1).flatten(1), 0.995, dim=1)
    assert result.exact_thresholds
    assert torch.allclose(result.thresholds, exact, atol=1e-5)


def test_the_trained_model_has_detectors_of_all_three_families(shapes):
    results = dissect(
        shapes, ["relu4_1", "relu4_2"], probe=ShapeWorldProbe(length=300), progress=None
    )
    counts = results["relu4_2"].detectors()
    assert all(counts[family] > 0 for family in ("shape", "color", "texture")), counts
    assert results["relu4_2"].note == "post-ReLU"
    _, plain_iou = results["relu4_2"].separate_best()["texture:plain"]
    assert plain_iou < 0.04, "a plain background can never be detected"


def test_csv_and_html_exports_hold_the_table(tmp_path):
    result = dissect(
        color_net("red", "blue"), "0", probe=ShapeWorldProbe(length=30), top_fraction=0.1
    )
    with to_csv(result, tmp_path / "units.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["unit"], r["concept"], r["detector"]) for r in rows] == [
        ("0", "color:red", "1"),
        ("1", "color:blue", "1"),
    ]
    page = to_html(result, tmp_path / "report.html", pictures={0: b"png!"}).read_text()
    assert "color:blue" in page and "texture:plain" in page and "base64,cG5nIQ==" in page


class EmptyProbe(ShapeWorldProbe):
    """A probe set with no images (a user's empty directory, say)."""

    def __len__(self) -> int:
        return 0


def test_bad_input_gives_one_line_errors(shapes):
    for call, message in (
        (lambda: dissect(shapes, "relu4_3"), "unknown layer 'relu4_3'"),
        (lambda: dissect(shapes, "fc", probe=ShapeWorldProbe(length=4)), "not (N, C, H, W) maps"),
        (lambda: dissect(shapes, "relu4_2", top_fraction=1.5), "top_fraction must be in"),
        (lambda: dissect(shapes, "relu4_2", k=0), "at least 1"),
        (lambda: ShapeWorldProbe(length=4).batches(0, masks=False).__next__(), "batch_size"),
        (
            lambda: dissect(shapes, "relu4_2", probe=ShapeWorldProbe(length=4), batch_size=0),
            "batch_size",
        ),
        (lambda: dissect(shapes, "relu4_2", probe=EmptyProbe()), "probe set is empty"),
        (lambda: DissectionBrowser({}), "no dissection results"),
    ):
        with pytest.raises(CnnlensError) as info:
            call()
        assert message in str(info.value) and "\n" not in str(info.value)


def test_the_model_is_unchanged_also_after_a_cancel_or_an_error(shapes):
    net = shapes.net
    net.train()  # an unusual state the call must restore
    try:
        before = snapshot(net)
        dissect(shapes, "relu4_2", probe=ShapeWorldProbe(length=20), progress=None)
        assert_unchanged(before, net)

        def cancel_midway(done, total):
            if done == 1:
                raise Cancelled("cancelled")

        with pytest.raises(Cancelled):
            dissect(
                shapes,
                "relu4_2",
                probe=ShapeWorldProbe(length=20),
                batch_size=8,
                progress=cancel_midway,
            )
        assert_unchanged(before, net)
        with pytest.raises(CnnlensError):
            dissect(shapes, "flatten", probe=ShapeWorldProbe(length=4))
        assert_unchanged(before, net)
    finally:
        net.eval()


def test_a_view_flatten_model_with_a_shared_relu_is_dissected():
    torch.manual_seed(0)
    model = cnnlens.load(LeNet(), input_size=32)
    probe = ShapeWorldProbe(length=48, size=32)
    result = dissect(
        model, "relu", probe=probe, batch_size=16
    )  # no truncation: the whole forward runs
    maps = cnnlens.capture(model, probe.batch(0, 1, masks=False).images, "relu")["relu"]
    assert result.iou.shape[0] == maps.shape[1]
