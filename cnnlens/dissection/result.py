"""The plain result of a dissection: per-unit IoU with every concept, and what it adds up to."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlens.core.inputs import check_unit
from cnnlens.dissection.probes import ProbeSet


@dataclass(frozen=True)
class UnitLabel:
    """One unit's best concept and whether its IoU makes it a detector."""

    unit: int
    concept: str
    category: str
    iou: float
    detector: bool


@dataclass(frozen=True, eq=False)
class Dissection:
    """IoU of every unit of `layer` with every concept of `probe`, and each unit's top images.

    Concepts in `probe.separate` are scored but never labels: they are reported apart.
    """

    layer: str
    note: str  # pre-/post-ReLU
    probe: ProbeSet
    thresholds: torch.Tensor  # (units,) the top-quantile activation level T_k
    exact_thresholds: bool  # False: from the sketch, within its relative error
    iou: torch.Tensor  # float64 (units, concepts)
    top_indices: torch.Tensor  # int64 (units, k): probe images with the highest peak activation
    top_values: torch.Tensor  # (units, k): those peaks
    top_masks: torch.Tensor  # bool (units, k, h, w): the unit's thresholded mask on them
    iou_threshold: float = 0.04

    @property
    def units(self) -> int:
        """Number of units (channels) of the layer."""
        return self.iou.shape[0]

    def _threshold(self, iou_threshold: float | None) -> float:
        return self.iou_threshold if iou_threshold is None else iou_threshold

    def best(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per unit: the index of its best concept (separate ones excluded) and that IoU."""
        scored = torch.tensor([c not in self.probe.separate for c in self.probe.concepts])
        values = torch.where(scored, self.iou, -1.0)
        iou, concept = values.max(dim=1)
        return concept, iou

    def labels(self, iou_threshold: float | None = None) -> list[UnitLabel]:
        """The per-unit table: unit, best concept, its category, IoU, detector or not."""
        threshold = self._threshold(iou_threshold)
        concepts, ious = self.best()
        return [
            UnitLabel(
                unit=unit,
                concept=self.probe.concepts[c],
                category=self.probe.concept_categories[c],
                iou=float(iou),
                detector=float(iou) >= threshold,
            )
            for unit, (c, iou) in enumerate(zip(concepts.tolist(), ious, strict=True))
        ]

    def detectors(self, iou_threshold: float | None = None) -> dict[str, int]:
        """Number of detector units per category (every category, zeros included)."""
        counts = dict.fromkeys(self.probe.categories, 0)
        for label in self.labels(iou_threshold):
            counts[label.category] += label.detector
        return counts

    def unique_concepts(self, iou_threshold: float | None = None) -> list[str]:
        """Concepts detected by at least one unit, in probe order."""
        found = {label.concept for label in self.labels(iou_threshold) if label.detector}
        return [c for c in self.probe.concepts if c in found]

    def separate_best(self) -> dict[str, tuple[int, float]]:
        """For each separately reported concept: the unit that matches it best, and its IoU."""
        best = {}
        for concept in self.probe.separate:
            column = self.iou[:, self.probe.concepts.index(concept)]
            best[concept] = (int(column.argmax()), float(column.max()))
        return best

    def top_images(self, unit: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A unit's top probe images (k, 3, H, W) and its thresholded masks on them (k, h, w)."""
        unit = check_unit(unit, self.units, self.layer)
        return self.probe.images(self.top_indices[unit].tolist()), self.top_masks[unit]

    def summary(self, iou_threshold: float | None = None) -> str:
        """One line: detectors per category and unique concepts, at the IoU threshold."""
        threshold = self._threshold(iou_threshold)
        counts = self.detectors(threshold)
        per = ", ".join(f"{category} {n}" for category, n in counts.items())
        return (
            f"{self.layer}: {sum(counts.values())}/{self.units} detectors at IoU ≥ {threshold:g} "
            f"({per}); {len(self.unique_concepts(threshold))} unique concepts"
        )
