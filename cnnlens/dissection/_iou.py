"""Intersection over union of unit masks and concept masks, summed over a whole probe set.

IoU(k, c) = Σ|M_k ∩ L_c| / Σ|M_k ∪ L_c| over the images x of the probe set (Bau et al.). As in
Broden, an image counts for a concept only where the concept's category is annotated in it, so
|M_k| is summed per category.
"""

from __future__ import annotations

import torch

from cnnlens.dissection._masks import ActiveMasks


def _pair_overlap(
    images: torch.Tensor, unit_masks: torch.Tensor, concept_masks: torch.Tensor
) -> torch.Tensor:
    """|M_a ∩ L_c| for every pair a and concept c: (A, C).

    From unit masks (A, P) of images `images` (A,) and concept masks (N, C, P). Pairs are padded
    into one batched product per image (one large op, not A small ones: small ops are slow on a busy
    multi-threaded CPU).
    """
    counts = torch.bincount(images, minlength=len(concept_masks))
    first = counts.cumsum(0) - counts
    slot = torch.arange(len(images), device=images.device) - first[images]
    padded = unit_masks.new_zeros(len(concept_masks), int(counts.max()), unit_masks.shape[1])
    padded[images, slot] = unit_masks
    return torch.bmm(padded, concept_masks.transpose(1, 2))[images, slot]


class IoUTally:
    """Running sums of |M ∩ L| per (unit, concept), |L| per concept, |M| per (unit, category)."""

    def __init__(self, units: int, concept_categories: torch.Tensor, categories: int) -> None:
        self.concept_categories = concept_categories.long()
        concepts = len(concept_categories)
        self.intersection = torch.zeros(units, concepts, dtype=torch.float64)
        self.concept_area = torch.zeros(concepts, dtype=torch.float64)
        self.unit_area = torch.zeros(units, categories, dtype=torch.float64)

    def add(
        self,
        active: ActiveMasks,
        concept_masks: torch.Tensor,
        concepts: torch.Tensor,
        annotated: torch.Tensor,
    ) -> None:
        """Add a batch: its non-empty unit masks and the concept masks.

        `concept_masks` are bool (N, C, H, W) of the concepts with indices `concepts` (C,), and
        `annotated` bool (N, categories).
        """
        concepts = concepts.cpu()
        device = active.masks.device  # the model's: the probe's masks come from the CPU
        flat = concept_masks.to(device).flatten(2).float()  # (N, C, P)
        annotated = annotated.to(device)
        self.concept_area.index_add_(0, concepts, flat.sum(dim=(0, 2)).double().cpu())
        unit_flat = active.masks.flatten(1).float()  # (A, P)
        overlap = _pair_overlap(active.images, unit_flat, flat)
        rows = torch.zeros(len(self.intersection), len(concepts), dtype=torch.float64)
        rows.index_add_(0, active.units.cpu(), overlap.double().cpu())
        self.intersection[:, concepts] += rows
        sizes = unit_flat.sum(dim=1, keepdim=True) * annotated[active.images].to(unit_flat)
        self.unit_area.index_add_(0, active.units.cpu(), sizes.double().cpu())

    def iou(self) -> torch.Tensor:
        """(units, concepts) IoU over everything added; 0 where the union is empty."""
        union = self.unit_area[:, self.concept_categories] + self.concept_area - self.intersection
        return torch.where(union > 0, self.intersection / union.clamp(min=1), 0.0)
