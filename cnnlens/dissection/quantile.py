"""Per-unit top quantiles of a stream of activations, in memory independent of the stream's length.

Network Dissection thresholds each unit at the level its activations exceed at 0.5% of all (image,
position) pairs of a probe set. Keeping every activation is out of the question, so each unit keeps

- its largest values so far, in a top buffer of at most `exact` values: when the quantile's order
  statistics lie inside it, the answer is exact — `torch.quantile`'s linear interpolation. With the
  default 4,096 that holds for the top 0.5% of up to 819,200 values per unit (12,800 images of an
  8×8 layer, 3,200 of a 16×16 one). When the stream's length is known in advance, the buffer
  keeps just what the quantile needs;
- only when the buffer cannot hold the tail: a log-bucket histogram of all values (as in DDSketch),
  whose answer is within a relative error `alpha` of the exact quantile for magnitudes in
  [MIN_ABS, MAX_ABS] (smaller ones count as 0, larger ones as MAX_ABS).

Memory: units × (exact + buckets) numbers at most, whatever the number of images.
"""

from __future__ import annotations

import math

import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.errors import CnnlensError

MIN_ABS, MAX_ABS = 1e-6, 1e6


def _tail_rank(q: float, total: int) -> int:
    """How many values from the top the q-quantile of `total` values reaches (both neighbours)."""
    return total - 1 - math.floor(q * (total - 1)) + 1


class TailQuantile:
    """The per-unit q-quantile of a stream: `update` with (units, n) blocks, then `value()`.

    Args:
        units: Number of units (rows of each block).
        q: The quantile, in [0, 1] (e.g. 0.995 for the top 0.5%).
        total: The number of values per unit the stream will bring, if known.
        exact: Size of each unit's exact top buffer.
        alpha: Relative error of the histogram fallback, in (0, 1).

    Raises:
        CnnlensError: `q` outside [0, 1] or `alpha` outside (0, 1).
    """

    @legacy_calls(order=("self", "units", "q", "total", "exact", "alpha"))
    def __init__(
        self,
        units: int,
        q: float,
        *,
        total: int | None = None,
        exact: int = 4096,
        alpha: float = 0.005,
    ) -> None:
        if not 0 <= q <= 1:
            raise CnnlensError(f"quantile must be in [0, 1], got {q}")
        if not 0 < alpha < 1:
            raise CnnlensError(f"alpha must be in (0, 1), got {alpha}")
        self.units, self.q, self.alpha = units, q, alpha
        needed = None if total is None else _tail_rank(q, total)
        self.capacity = exact if needed is None else min(exact, needed)
        self.count = 0
        self.top = torch.empty(units, 0)
        self.counts: torch.Tensor | None = None
        if needed is None or needed > exact:
            self._start_histogram()

    def _start_histogram(self) -> None:
        log_gamma = math.log((1 + self.alpha) / (1 - self.alpha))
        self._log_gamma = log_gamma
        self._low_key = math.ceil(math.log(MIN_ABS) / log_gamma)
        self._side = math.ceil(math.log(MAX_ABS) / log_gamma) - self._low_key + 1
        keys = torch.arange(self._low_key, self._low_key + self._side, dtype=torch.float64)
        # Bucket `key` holds magnitudes in (gamma^(key-1), gamma^key]; this is within alpha of all.
        middle = 2 * torch.exp(keys * log_gamma) / (1 + math.exp(log_gamma))
        self._values = torch.cat([-middle.flip(0), torch.zeros(1, dtype=torch.float64), middle])
        self.counts = torch.zeros(self.units, len(self._values), dtype=torch.int64)

    @property
    def nbytes(self) -> int:
        """Bytes held by the sketch (at most units × (exact + buckets) numbers)."""
        histogram = 0 if self.counts is None else 8 * self.counts.numel()
        return self.top.element_size() * self.top.numel() + histogram

    @property
    def exact(self) -> bool:
        """Whether `value()` comes from the exact top buffer."""
        return self.count > 0 and _tail_rank(self.q, self.count) <= self.top.shape[1]

    def _buckets(self, values: torch.Tensor) -> torch.Tensor:
        """Histogram bucket of each value, ascending in value (negatives, zero, positives)."""
        magnitude = values.abs().double()
        key = torch.ceil(torch.log(magnitude.clamp(MIN_ABS, MAX_ABS)) / self._log_gamma).long()
        offset = (key - self._low_key).clamp(0, self._side - 1)
        index = torch.where(values > 0, self._side + 1 + offset, self._side - 1 - offset)
        return torch.where(magnitude <= MIN_ABS, torch.full_like(index, self._side), index)

    def update(self, values: torch.Tensor) -> None:
        """Add a (units, n) block of values.

        Raises:
            CnnlensError: The block is not (units, n); the stream is longer than the announced
                total.
        """
        if values.dim() != 2 or values.shape[0] != self.units:
            raise CnnlensError(f"expected ({self.units}, n) values, got {tuple(values.shape)}")
        values = values.detach().float().cpu()
        self.count += values.shape[1]
        merged = torch.cat([self.top, values], dim=1)
        self.top = merged.topk(min(self.capacity, merged.shape[1]), dim=1).values
        if self.counts is not None:
            rows = torch.arange(self.units)[:, None] * self.counts.shape[1]
            flat = (rows + self._buckets(values)).flatten()
            self.counts += torch.bincount(flat, minlength=self.counts.numel()).view_as(self.counts)

    def value(self) -> torch.Tensor:
        """Per-unit q-quantile, interpolated linearly between order statistics: (units,).

        Raises:
            CnnlensError: No values were seen.
        """
        if self.count == 0:
            raise CnnlensError("no values seen: the probe set is empty")
        position = self.q * (self.count - 1)
        below, above = math.floor(position), math.ceil(position)
        low, high = self._order_statistic(below), self._order_statistic(above)
        return low + (position - below) * (high - low)

    def _order_statistic(self, rank: int) -> torch.Tensor:
        """Per-unit value of ascending rank `rank`: exact from the buffer, else from the sketch."""
        from_top = self.count - 1 - rank
        if from_top < self.top.shape[1]:
            return self.top[:, from_top]
        if self.counts is None:
            raise CnnlensError(f"the stream was longer than the announced total ({self.count})")
        cumulative = self.counts.cumsum(dim=1)
        target = torch.full((self.units, 1), rank + 1, dtype=cumulative.dtype)
        bucket = torch.searchsorted(cumulative, target)[:, 0]
        return self._values[bucket].float()
