"""A reader for the Broden directory format (Bau et al.), for users who download Broden.

    index.csv   image, split, ih, iw, sh, sw, then one column per category (color, object, part,
                material, scene, texture): ';'-separated mask PNG names (pixel labels) or label
                numbers (image-level labels, which cover the whole image)
    label.csv   number, name, category ("object(12);part(3)": the largest count is primary), ...
    images/     the images and the mask PNGs, named as in index.csv

A mask PNG encodes label number R + 256·G per pixel (0 = unlabelled). Images are resized to one
size (the first row's, or `size`), masks (nearest) to the first row's sh × sw.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from cnnlens.core._legacy import legacy_calls
from cnnlens.dissection.probes import ProbeBatch, ProbeSet
from cnnlens.errors import CnnlensError

INDEX_FIELDS = ("image", "split", "ih", "iw", "sh", "sw")
LABEL_FIELDS = ("number", "name", "category")
_CATEGORY = re.compile(r"^\s*([^()]+?)\s*\((\d+)\)\s*$")


def _read_csv(path: Path, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a Broden CSV file, which must have (at least) `fields` as columns."""
    if not path.exists():
        raise CnnlensError(f"not a Broden directory: {path.name} missing in {path.parent}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = sorted(set(fields) - set(reader.fieldnames or ()))
        if missing:
            raise CnnlensError(f"{path.name} lacks the column(s) {', '.join(missing)}")
        return list(reader)


def _label_number(row: dict[str, str]) -> int:
    try:
        return int(row["number"])
    except (TypeError, ValueError):
        raise CnnlensError(f"label.csv: {row['number']!r} is not a label number") from None


def _open_rgb(path: Path) -> np.ndarray:
    """An image file listed in index.csv as an (H, W, 3) uint8 array."""
    try:
        return np.asarray(Image.open(path).convert("RGB"))
    except FileNotFoundError:
        raise CnnlensError(
            f"{path.name}, listed in index.csv, is missing from {path.parent}"
        ) from None
    except UnidentifiedImageError:
        raise CnnlensError(f"{path.name}, listed in index.csv, is not an image") from None


def _primary_category(field: str) -> str:
    """The category with the largest count in a label.csv category field ("object(12);part(3)")."""
    counts = []
    for part in field.split(";"):
        match = _CATEGORY.match(part)
        counts.append((int(match.group(2)), match.group(1)) if match else (0, part.strip()))
    return max(counts, key=lambda pair: pair[0])[1]


def _decode_mask(path: Path) -> np.ndarray:
    """Label numbers of a Broden mask PNG: R + 256·G."""
    rgb = _open_rgb(path).astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1]


class BrodenProbe(ProbeSet):
    """A Broden-format directory as a probe set (optionally one split, the first `limit` images).

    Broden is the dataset of Bau et al., Network Dissection, CVPR 2017,
    https://arxiv.org/abs/1704.05796; see the module docstring for the format.

    Args:
        directory: The Broden directory (with index.csv, label.csv and images/).
        split: Only the rows of this split (e.g. "train"); None for all.
        size: Side in pixels the images are resized to; None for the first row's size.
        limit: Only the first `limit` images; None for all.

    Raises:
        CnnlensError: index.csv or label.csv is missing or lacks columns; no images match `split`;
            an image listed in index.csv is missing or not an image (when read).
    """

    @legacy_calls(order=("self", "directory", "split", "size", "limit"))
    def __init__(
        self,
        directory: str | Path,
        *,
        split: str | None = None,
        size: int | None = None,
        limit: int | None = None,
    ) -> None:
        self.root = Path(directory)
        rows = _read_csv(self.root / "index.csv", INDEX_FIELDS)
        labels = [
            row
            for row in _read_csv(self.root / "label.csv", LABEL_FIELDS)
            if _label_number(row) > 0
        ]
        self.rows = [row for row in rows if split is None or row["split"] == split][:limit]
        if not self.rows:
            raise CnnlensError(f"no images in {self.root / 'index.csv'} (split {split!r})")
        self.name = f"Broden {self.root.name}" + (f" ({split})" if split else "")
        self.concepts = tuple(row["name"] for row in labels)
        self.concept_categories = tuple(_primary_category(row["category"]) for row in labels)
        self.columns = [c for c in rows[0] if c not in INDEX_FIELDS]
        numbers = [_label_number(row) for row in labels]
        self._codes = np.zeros(max(numbers, default=0) + 1, np.int64)  # Broden number → index + 1
        self._codes[numbers] = np.arange(1, len(numbers) + 1)
        first = self.rows[0]
        self.image_size = (size, size) if size else (int(first["ih"]), int(first["iw"]))
        self.mask_size = (int(first["sh"]), int(first["sw"]))

    def __len__(self) -> int:
        return len(self.rows)

    def _image(self, row: dict[str, str]) -> torch.Tensor:
        picture = _open_rgb(self.root / "images" / row["image"])
        image = torch.from_numpy(picture.astype(np.float32) / 255).permute(2, 0, 1)
        if tuple(image.shape[1:]) != self.image_size:
            image = F.interpolate(image[None], self.image_size, mode="bilinear")[0].clamp(0, 1)
        return image

    def _codes_of(self, numbers: np.ndarray) -> np.ndarray:
        """Broden label numbers → concept index + 1 (0 for unlabelled or unknown numbers)."""
        known = numbers < len(self._codes)
        return np.where(known, self._codes[np.where(known, numbers, 0)], 0)

    def _layer(self, entry: str) -> np.ndarray:
        """One label layer: a decoded mask PNG, or an image-level label number everywhere."""
        if entry.isdigit():
            return self._codes_of(np.full(self.mask_size, int(entry), np.int64))
        codes = self._codes_of(_decode_mask(self.root / "images" / entry))
        if codes.shape != self.mask_size:
            resized = F.interpolate(torch.from_numpy(codes)[None, None].double(), self.mask_size)
            codes = resized[0, 0].long().numpy()
        return codes

    def _labels(self, row: dict[str, str]) -> tuple[list[np.ndarray], list[bool]]:
        layers: list[np.ndarray] = []
        by_category = {category: False for category in self.categories}
        for column in self.columns:
            entries = [e.strip() for e in (row[column] or "").split(";") if e.strip()]
            layers += [self._layer(entry) for entry in entries]
            if column in by_category:
                by_category[column] = bool(entries)
        return layers, list(by_category.values())

    def batch(self, start: int, n: int, masks: bool) -> ProbeBatch:
        """Images [start, start + n), with the masks of the concepts they show if asked.

        As `ProbeSet.batch`; images and masks are read from the directory and resized.
        """
        rows = self.rows[start : start + n]
        images = torch.stack([self._image(row) for row in rows])
        if not masks:
            return ProbeBatch(start, images)
        decoded = [self._labels(row) for row in rows]
        depth = max([1, *(len(layers) for layers, _ in decoded)])
        maps = torch.zeros(len(rows), depth, *self.mask_size, dtype=torch.int64)
        for i, (layers, _) in enumerate(decoded):
            for j, layer in enumerate(layers):
                maps[i, j] = torch.from_numpy(layer)
        codes = maps.unique()
        codes = codes[codes > 0]
        shown = (maps[:, :, None] == codes[None, None, :, None, None]).any(dim=1)
        annotated = torch.tensor([flags for _, flags in decoded], dtype=torch.bool)
        return ProbeBatch(start, images, masks=shown, concepts=codes - 1, annotated=annotated)
