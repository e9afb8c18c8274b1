"""Image parameterizations: the tensor the optimizer moves, and how it becomes an RGB image.

An image is sigmoid(color(spatial(leaf))). `spatial` is the identity (pixels) or an inverse FFT of a
spectrum whose coefficients are scaled by 1 / frequency^decay (Fourier preconditioning: equal
optimizer steps move low frequencies most). `color` mixes the channels by the square root of an RGB
covariance (decorrelated colour), estimated from the shape world unless one is given. Each stage is
invertible, so any start image can be encoded exactly. Olah et al., Feature Visualization, Distill
2017, https://distill.pub/2017/feature-visualization/.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from cnnlens.core.legacy import legacy_calls, legacy_fields
from cnnlens.data import ShapeWorld
from cnnlens.errors import CnnlensError

FOURIER_DAMPING = 4.0  # Lucid's constant: divides the Fourier image, so colours saturate less
ENCODE_MARGIN = 1e-3  # start images are clamped to [margin, 1 − margin] before the logit


def color_sqrt(covariance: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a 3×3 RGB covariance, scaled to a largest column norm of 1.

    Args:
        covariance: (3, 3) positive definite float tensor.

    Returns:
        (3, 3) float tensor.

    Raises:
        CnnlensError: The covariance is not 3×3 or not positive definite.
    """
    if tuple(covariance.shape) != (3, 3):
        raise CnnlensError(f"a colour covariance is 3×3, got shape {tuple(covariance.shape)}")
    values, vectors = torch.linalg.eigh(covariance.double())
    if values.min() <= 0:
        raise CnnlensError("the colour covariance must be positive definite")
    root = vectors @ torch.diag(values.sqrt()) @ vectors.T
    return (root / root.norm(dim=0).max()).float()


@functools.lru_cache(maxsize=2)
@legacy_calls(order=("count", "seed"))
def shape_world_covariance(*, count: int = 256, seed: int = 0) -> torch.Tensor:
    """The RGB covariance of the pixels of `count` shape-world images.

    Args:
        count: Number of images.
        seed: Seed of the shape world.

    Returns:
        (3, 3) float tensor.
    """
    images = ShapeWorld(length=count, seed=seed).batch(0, count).images
    return torch.cov(images.permute(1, 0, 2, 3).reshape(3, -1).double()).float()


def mix_colors(matrix: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Each pixel's channels multiplied by a 3×3 `matrix` (a batched matmul: faster than einsum)."""
    return (matrix @ images.flatten(2)).view_as(images)


def _frequency_scale(height: int, width: int, decay: float) -> torch.Tensor:
    """1 / f^decay per rfft2 coefficient (f in cycles per pixel, floored at the lowest one)."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    frequency = (fy**2 + fx**2).sqrt().clamp_min(1.0 / max(height, width))
    return frequency ** (-decay)


class ParamImage:
    """A batch of images held as an optimizable `leaf`; calling it gives the (N, 3, H, W) images."""

    def __init__(
        self, leaf: torch.Tensor, size: int, color: torch.Tensor, scale: torch.Tensor | None
    ) -> None:
        self.leaf = leaf.requires_grad_(True)
        self.size = size
        self.color = color
        self.scale = scale  # None: pixel space

    def spatial(self) -> torch.Tensor:
        """The leaf in image space, before colour mixing and the sigmoid."""
        if self.scale is None:
            return self.leaf
        spectrum = torch.view_as_complex(self.leaf) * self.scale
        size = (self.size, self.size)
        return torch.fft.irfft2(spectrum, s=size, norm="ortho") / FOURIER_DAMPING

    def __call__(self) -> torch.Tensor:
        """The images: sigmoid(color(spatial(leaf))), (N, 3, H, W) float tensor in (0, 1)."""
        return mix_colors(self.color, self.spatial()).sigmoid()


@legacy_fields(("fourier", "decay", "decorrelate", "covariance"))
@dataclass(frozen=True, kw_only=True)
class Param:
    """How images are parameterized: Fourier or pixels, and decorrelated colour or plain RGB.

    Olah et al., Feature Visualization, Distill 2017,
    https://distill.pub/2017/feature-visualization/ (preconditioning).

    Args:
        fourier: Optimize a Fourier spectrum rather than pixels.
        decay: Exponent of the 1 / frequency^decay scaling of the spectrum.
        decorrelate: Mix the channels by the square root of an RGB covariance.
        covariance: (3, 3) RGB covariance to decorrelate by; None for the shape world's.
    """

    fourier: bool = True
    decay: float = 1.0
    decorrelate: bool = True
    covariance: torch.Tensor | None = None

    def _color(self, like: torch.Tensor) -> torch.Tensor:
        if not self.decorrelate:
            return torch.eye(3, device=like.device, dtype=like.dtype)
        covariance = shape_world_covariance() if self.covariance is None else self.covariance
        return color_sqrt(covariance).to(like)

    def _scale(self, size: int, like: torch.Tensor) -> torch.Tensor | None:
        if not self.fourier:
            return None
        return _frequency_scale(size, size, self.decay).to(like)

    def encode(self, images: torch.Tensor) -> ParamImage:
        """A ParamImage that starts exactly at `images`, clamped off 0 and 1.

        Args:
            images: (N, 3, S, S) float tensor in [0, 1].

        Returns:
            The `ParamImage`.

        Raises:
            CnnlensError: `images` is not (N, 3, S, S).
        """
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
            raise CnnlensError(f"start images must be (N, 3, S, S), got {tuple(images.shape)}")
        size = images.shape[-1]
        color, scale = self._color(images), self._scale(size, images)
        logits = images.clamp(ENCODE_MARGIN, 1 - ENCODE_MARGIN).logit()
        spatial = mix_colors(torch.linalg.inv(color), logits)
        if scale is None:
            return ParamImage(spatial.detach().clone(), size, color, None)
        spectrum = torch.fft.rfft2(spatial * FOURIER_DAMPING, norm="ortho") / scale
        return ParamImage(torch.view_as_real(spectrum).detach().clone(), size, color, scale)

    def random(
        self,
        count: int,
        size: int,
        generator: torch.Generator,
        like: torch.Tensor,
        sd: float = 0.01,
    ) -> ParamImage:
        """`count` images near mid-gray: the leaf is Gaussian noise of standard deviation `sd`.

        Args:
            count: Number of images N.
            size: Side S in pixels.
            generator: The seeded random generator.
            like: A tensor whose device and dtype the leaf takes.
            sd: Standard deviation of the noise, in parameter space.

        Returns:
            The `ParamImage` of N (3, S, S) images.
        """
        scale = self._scale(size, like)
        shape = (count, 3, size, size) if scale is None else (count, 3, *scale.shape, 2)
        leaf = sd * torch.randn(shape, generator=generator)
        return ParamImage(leaf.to(like), size, self._color(like), scale)
