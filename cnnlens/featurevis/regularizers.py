"""Image priors subtracted from the objective, each with a strength.

The α-norm (L1, L2, Mahendran & Vedaldi's α = 6), total variation, and blur with a shrinking σ. Each
penalty is a per-image mean over pixels, so a strength means the same at any image size.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import torch

from cnnlens.core._legacy import legacy_fields
from cnnlens.errors import CnnlensError
from cnnlens.featurevis.transforms import _sigma_schedule, gaussian_blur


@dataclass(frozen=True)
class Regularizer:
    """A penalty per image on images in [0, 1], weighted by `strength`.

    Subclasses implement `penalty(images, fraction)`; `fraction` is the render's progress from 0 to
    1 (for schedules).

    Args:
        strength: The weight, >= 0.

    Raises:
        CnnlensError: `strength` is negative.
    """

    strength: float

    def __post_init__(self) -> None:
        if self.strength < 0:
            raise CnnlensError(f"a regularizer strength must be ≥ 0, got {self.strength:g}")

    def penalty(self, images: torch.Tensor, fraction: float) -> torch.Tensor:
        """The unweighted penalty: (N, 3, H, W) images in [0, 1] to (N,)."""
        raise NotImplementedError

    def __call__(self, images: torch.Tensor, fraction: float = 0.0) -> torch.Tensor:
        """The weighted penalty per image.

        Args:
            images: (N, 3, H, W) float tensor in [0, 1].
            fraction: The render's progress, 0 to 1.

        Returns:
            (N,) float tensor, >= 0.
        """
        return self.strength * self.penalty(images, fraction)


@legacy_fields(("strength", "alpha", "center"))
@dataclass(frozen=True)
class AlphaNorm(Regularizer):
    """Mean |x − centre|^α per image.

    α = 1 (L1) favours sparse deviations from gray, α = 2 (L2, Simonyan et al. 2014,
    https://arxiv.org/abs/1312.6034) small ones, α = 6 (Mahendran & Vedaldi, CVPR 2015,
    https://arxiv.org/abs/1412.0035) keeps every pixel within range.

    Args:
        strength: The weight, >= 0.
        alpha: The exponent α.
        center: The value deviations are measured from, in [0, 1] (0.5 = mid-gray).
    """

    _: KW_ONLY
    alpha: float = 2.0
    center: float = 0.5

    def penalty(self, images: torch.Tensor, fraction: float) -> torch.Tensor:
        """Mean |x − centre|^α of (N, 3, H, W) images: (N,)."""
        return (images - self.center).abs().pow(self.alpha).flatten(1).mean(dim=1)


def l1(strength: float) -> AlphaNorm:
    """L1 penalty towards mid-gray.

    Args:
        strength: The weight, >= 0.

    Returns:
        An `AlphaNorm` with α = 1.
    """
    return AlphaNorm(strength, alpha=1.0)


def l2(strength: float) -> AlphaNorm:
    """L2 penalty towards mid-gray.

    Args:
        strength: The weight, >= 0.

    Returns:
        An `AlphaNorm` with α = 2.
    """
    return AlphaNorm(strength, alpha=2.0)


@legacy_fields(("strength", "beta"))
@dataclass(frozen=True)
class TotalVariation(Regularizer):
    """Mean of (dx² + dy²)^(β/2) over pixels: penalizes high-frequency patterns.

    Mahendran & Vedaldi, Understanding Deep Image Representations by Inverting Them, CVPR 2015,
    https://arxiv.org/abs/1412.0035.

    Args:
        strength: The weight, >= 0.
        beta: The exponent β.
    """

    _: KW_ONLY
    beta: float = 2.0

    def penalty(self, images: torch.Tensor, fraction: float) -> torch.Tensor:
        """Mean (dx² + dy²)^(β/2) of (N, 3, H, W) images: (N,)."""
        dy = images[..., 1:, :-1] - images[..., :-1, :-1]
        dx = images[..., :-1, 1:] - images[..., :-1, :-1]
        return (dx**2 + dy**2).pow(self.beta / 2).flatten(1).mean(dim=1)


@legacy_fields(("strength", "sigma_start", "sigma_end"))
@dataclass(frozen=True)
class Blur(Regularizer):
    """Mean squared distance to the image's own blurred copy, held fixed.

    σ goes from `sigma_start` to `sigma_end` over the render: each step pulls the image towards its
    blur.

    Args:
        strength: The weight, >= 0.
        sigma_start: σ in pixels at the render's start.
        sigma_end: σ in pixels at its end.
    """

    _: KW_ONLY
    sigma_start: float = 1.0
    sigma_end: float = 0.3

    def penalty(self, images: torch.Tensor, fraction: float) -> torch.Tensor:
        """Mean squared distance of (N, 3, H, W) images to their blur at this step's σ: (N,)."""
        sigma = _sigma_schedule(self.sigma_start, self.sigma_end)(fraction)
        target = gaussian_blur(images, sigma).detach()
        return (images - target).pow(2).flatten(1).mean(dim=1)
