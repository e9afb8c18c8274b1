"""The plain result of a dissection: per-unit IoU with every concept, and what it adds up to."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import torch

from cnnlens.core._inputs import check_unit
from cnnlens.core._legacy import legacy_fields
from cnnlens.dissection.probes import ProbeSet


@dataclass(frozen=True)
class UnitLabel:
    """One unit's best concept and whether its IoU makes it a detector.

    Attributes:
        unit: The unit (channel).
        concept: Its best concept (separately reported ones excluded).
        category: The concept's category.
        iou: The IoU, in [0, 1].
        detector: Whether the IoU reaches the threshold.
    """

    unit: int
    concept: str
    category: str
    iou: float
    detector: bool


@legacy_fields(
    (
        "layer",
        "note",
        "probe",
        "thresholds",
        "exact_thresholds",
        "iou",
        "top_indices",
        "top_values",
        "top_masks",
        "iou_threshold",
    )
)
@dataclass(frozen=True, eq=False)
class Dissection:
    """IoU of every unit of `layer` with every concept of `probe`, and each unit's top images.

    Concepts in `probe.separate` are scored but never labels: they are reported apart.

    Attributes:
        layer: The layer's module path.
        note: Whether the layer was read before or after its ReLU.
        probe: The `ProbeSet`.
        thresholds: (units,) float tensor: the top-quantile activation level T_k.
        exact_thresholds: False when the thresholds come from the sketch, within its relative error.
        iou: (units, concepts) float64 tensor in [0, 1].
        top_indices: (units, k) int64 tensor: probe images with the highest peak activation.
        top_values: (units, k) float tensor: those peaks.
        top_masks: (units, k, h, w) bool tensor: the unit's thresholded mask on them.
        iou_threshold: The default least IoU for a detector.
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
    _: KW_ONLY
    iou_threshold: float = 0.04

    @property
    def units(self) -> int:
        """Number of units (channels) of the layer."""
        return self.iou.shape[0]

    def _threshold(self, iou_threshold: float | None) -> float:
        return self.iou_threshold if iou_threshold is None else iou_threshold

    def best(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per unit: the index of its best concept (separate ones excluded) and that IoU.

        Returns:
            (concept indices, IoUs): two (units,) tensors.
        """
        scored = torch.tensor([c not in self.probe.separate for c in self.probe.concepts])
        values = torch.where(scored, self.iou, -1.0)
        iou, concept = values.max(dim=1)
        return concept, iou

    def labels(self, iou_threshold: float | None = None) -> list[UnitLabel]:
        """The per-unit table: unit, best concept, its category, IoU, detector or not.

        Args:
            iou_threshold: Least IoU for a detector; None for `self.iou_threshold`.

        Returns:
            One `UnitLabel` per unit.
        """
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
        """Number of detector units per category (every category, zeros included).

        Args:
            iou_threshold: Least IoU for a detector; None for `self.iou_threshold`.

        Returns:
            {category: count}.
        """
        counts = dict.fromkeys(self.probe.categories, 0)
        for label in self.labels(iou_threshold):
            counts[label.category] += label.detector
        return counts

    def unique_concepts(self, iou_threshold: float | None = None) -> list[str]:
        """Concepts detected by at least one unit, in probe order.

        Args:
            iou_threshold: Least IoU for a detector; None for `self.iou_threshold`.

        Returns:
            The concept names.
        """
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
        """A unit's top probe images and its thresholded masks on them.

        Args:
            unit: The unit (channel).

        Returns:
            ((k, 3, H, W) float images in [0, 1], (k, h, w) bool masks).
        """
        unit = check_unit(unit, self.units, self.layer)
        return self.probe.images(self.top_indices[unit].tolist()), self.top_masks[unit]

    def summary(self, iou_threshold: float | None = None) -> str:
        """One line: detectors per category and unique concepts, at the IoU threshold.

        Args:
            iou_threshold: Least IoU for a detector; None for `self.iou_threshold`.

        Returns:
            The line.
        """
        threshold = self._threshold(iou_threshold)
        counts = self.detectors(threshold)
        per = ", ".join(f"{category} {n}" for category, n in counts.items())
        return (
            f"{self.layer}: {sum(counts.values())}/{self.units} detectors at IoU ≥ {threshold:g} "
            f"({per}); {len(self.unique_concepts(threshold))} unique concepts"
        )
