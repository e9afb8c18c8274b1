"""The Broden reader on a tiny Broden-format directory written here: masks, labels, dissection."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from cnnlens import CnnlensError
from cnnlens.dissection import BrodenProbe, dissect
from cnnlens.dissection.broden import _decode_mask, _primary_category

SIZE = 16
CAR, TREE, STREET = 300, 2, 5  # 300 needs the G channel: R + 256·G
LABELS = [
    (1, "red-c", "color(4)"),
    (TREE, "tree", "object(3);part(1)"),
    (3, "wheel", "part(2);object(1)"),
    (STREET, "street", "scene(2)"),
    (CAR, "car", "object(2)"),
]


def encode(numbers: np.ndarray) -> Image.Image:
    rgb = np.zeros((*numbers.shape, 3), np.uint8)
    rgb[..., 0], rgb[..., 1] = numbers % 256, numbers // 256
    return Image.fromarray(rgb)


def write_broden(root):
    """Four gray images: a red car square, a green tree square; image 3 has no object labels."""
    (root / "images" / "toy").mkdir(parents=True)
    rows, truth = [], []
    for i in range(4):
        image = np.full((SIZE, SIZE, 3), 128, np.uint8)
        objects = np.zeros((SIZE // 2, SIZE // 2), np.int64)  # masks at half resolution
        top = 2 * i
        image[top : top + 6, 2:8] = (255, 0, 0)
        objects[top // 2 : top // 2 + 3, 1:4] = CAR
        image[2:8, 10:14] = (0, 255, 0)
        objects[1:4, 5:7] = TREE
        Image.fromarray(image).save(root / "images" / "toy" / f"{i}.png")
        labelled = i != 3
        if labelled:
            encode(objects).save(root / "images" / "toy" / f"{i}_object.png")
        rows.append(
            {
                "image": f"toy/{i}.png",
                "split": "train" if i < 3 else "val",
                "ih": SIZE,
                "iw": SIZE,
                "sh": SIZE // 2,
                "sw": SIZE // 2,
                "color": "",
                "object": f"toy/{i}_object.png" if labelled else "",
                "part": "",
                "material": "",
                "scene": str(STREET) if i % 2 == 0 else "",
                "texture": "",
            }
        )
        truth.append((objects if labelled else None, i % 2 == 0))
    with (root / "index.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with (root / "label.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "name", "category", "frequency", "coverage", "syns"])
        for number, name, category in LABELS:
            writer.writerow([number, name, category, 1, 0.1, ""])
    return truth


class RedUnit(nn.Module):
    """One unit: 1 on pure-red pixels, pooled 2× to the masks' resolution (so upsampling is
    the identity)."""

    def forward(self, x):
        red = ((x[:, 0] > 0.9) & (x[:, 1] < 0.1)).float()[:, None]
        return nn.functional.max_pool2d(red, 2)


@pytest.fixture
def broden(tmp_path):
    return tmp_path, write_broden(tmp_path)


def test_label_files_decode_as_in_broden(tmp_path):
    numbers = np.array([[0, 2], [300, 65535]])
    encode(numbers).save(tmp_path / "m.png")
    assert np.array_equal(_decode_mask(tmp_path / "m.png"), numbers)
    assert _primary_category("part(2);object(7)") == "object"
    assert _primary_category("scene(2)") == "scene"


def test_the_reader_gives_images_masks_and_annotation_flags(broden):
    root, truth = broden
    probe = BrodenProbe(root)
    assert probe.concepts == ("red-c", "tree", "wheel", "street", "car")
    assert probe.concept_categories == ("color", "object", "part", "scene", "object")
    assert probe.categories == ("color", "object", "part", "scene")
    batch = probe.batch(0, 4, masks=True)
    assert batch.images.shape == (4, 3, SIZE, SIZE)
    assert batch.images[0, :, 0, 0].tolist() == pytest.approx([128 / 255] * 3)
    names = [probe.concepts[int(c)] for c in batch.concepts]
    assert sorted(names) == ["car", "street", "tree"]
    for i, (objects, street) in enumerate(truth):
        shown = dict(zip(names, batch.masks[i], strict=True))
        for name, number in (("car", CAR), ("tree", TREE)):
            expected = np.zeros((SIZE // 2,) * 2, bool) if objects is None else objects == number
            assert np.array_equal(shown[name].numpy(), expected)
        assert bool(shown["street"].all()) == street and bool(shown["street"].any()) == street
    assert batch.annotated.tolist() == [
        [False, True, False, True],
        [False, True, False, False],
        [False, True, False, True],
        [False, False, False, False],
    ]
    assert len(BrodenProbe(root, split="val")) == 1


def test_dissection_through_broden_finds_the_car_unit(broden):
    root, truth = broden
    result = dissect(nn.Sequential(RedUnit()), "0", probe=BrodenProbe(root), top_fraction=0.2)
    car = result.probe.concepts.index("car")
    # Image 3 shows a red square but has no object labels: it does not count against "car".
    assert result.iou[0, car] == pytest.approx(1.0)
    # "street" covers whole images 0 and 2; only they are annotated for scenes, and there the
    # unit's mask (the car square) lies inside it: IoU = car pixels / street pixels.
    streets = [i for i, (_, street) in enumerate(truth) if street]
    overlap = sum(int((truth[i][0] == CAR).sum()) for i in streets)
    scene = result.probe.concepts.index("street")
    expected = overlap / (len(streets) * (SIZE // 2) ** 2)
    assert result.iou[0, scene].item() == pytest.approx(expected, rel=1e-9)
    assert result.labels()[0].concept == "car" and result.detectors()["object"] == 1


def test_a_directory_that_is_not_broden_gives_one_line(tmp_path):
    with pytest.raises(CnnlensError, match=r"index\.csv missing"):
        BrodenProbe(tmp_path)
    with pytest.raises(CnnlensError, match="no images"):
        write_broden(tmp_path)
        BrodenProbe(tmp_path, split="test")


def test_broken_broden_files_give_one_line(broden):
    root, _ = broden
    label_csv = (root / "label.csv").read_text()
    (root / "label.csv").write_text(label_csv.replace("number,name", "id,name", 1))
    with pytest.raises(CnnlensError, match=r"label\.csv lacks the column\(s\) number$"):
        BrodenProbe(root)
    (root / "label.csv").write_text(label_csv.replace("\n1,", "\none,", 1))
    with pytest.raises(CnnlensError, match=r"'one' is not a label number"):
        BrodenProbe(root)
    (root / "label.csv").write_text(label_csv)
    (root / "images" / "toy" / "1_object.png").unlink()
    probe = BrodenProbe(root)
    probe.batch(0, 1, masks=True)  # image 0 is whole
    with pytest.raises(CnnlensError, match=r"1_object\.png, listed in index\.csv, is missing"):
        probe.batch(1, 1, masks=True)
    (root / "images" / "toy" / "2.png").write_text("not a picture")
    with pytest.raises(CnnlensError, match=r"2\.png, listed in index\.csv, is not an image"):
        probe.batch(2, 1, masks=False)


def test_reading_is_deterministic(broden):
    root, _ = broden
    first, second = (BrodenProbe(root).batch(1, 2, masks=True) for _ in range(2))
    assert torch.equal(first.masks, second.masks) and torch.equal(first.images, second.images)
