"""Image parameterizations: the tensor the optimizer moves, and how it becomes an RGB image.

An image is sigmoid(color(spatial(leaf))). `spatial` is the identity (pixels) or an inverse FFT of a
spectrum whose coefficients are scaled by 1 / frequency^decay (Fourier preconditioning: equal
optimizer steps move low frequencies most). `color` mixes the channels by the square root of an RGB
covariance (decorrelated colour): the given one, else the model's training images' (its handle's
`color_covariance`), else none (plain RGB). Each stage is invertible, so any start image can be
encoded exactly. Olah et al., Feature Visualization, Distill 2017,
https://distill.pub/2017/feature-visualization/.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from cnnlens.core._legacy import legacy_fields
from cnnlens.core.handle import ModelLike, _as_handle
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


def _mix_colors(matrix: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Each pixel's channels multiplied by a 3×3 `matrix` (a batched matmul: faster than einsum)."""
    return (matrix @ images.flatten(2)).view_as(images)


def _frequency_scale(height: int, width: int, decay: float) -> torch.Tensor:
    """1 / f^decay per rfft2 coefficient (f in cycles per pixel, floored at the lowest one)."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    frequency = (fy**2 + fx**2).sqrt().clamp_min(1.0 / max(height, width))
    return frequency ** (-decay)


class ParamImage:
    """A batch of images held as an optimizable `leaf`; calling it gives the (N, 3, H, W) images.

    Made by `Param` (`Param.random`, `Param.encode`): the image is the sigmoid of the colour mix
    of the spatial leaf, the leaf being a scaled Fourier spectrum or pixels.

    Attributes:
        leaf: The tensor the optimizer updates (requires grad).
        size: Side S of the images in pixels.
        color: (3, 3) colour mixing matrix (identity for plain RGB).
        scale: Per-frequency scale of the spectrum; None for pixel space.
    """

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
        return _mix_colors(self.color, self.spatial()).sigmoid()


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
        covariance: (3, 3) RGB covariance to decorrelate by; None for the model's (`for_model`,
            which `render` applies: the covariance of its training images' pixels where its handle
            knows it, as the embedded model's does). Where it stays None (a model whose handle
            has none, such as a plain module or a torchvision classifier, or a Param used on its
            own) colour is not decorrelated: plain RGB.
    """

    fourier: bool = True
    decay: float = 1.0
    decorrelate: bool = True
    covariance: torch.Tensor | None = None

    def for_model(self, model: ModelLike) -> Param:
        """This parameterization with the model's colour covariance, if it decorrelates by none.

        Args:
            model: The network: a `LoadedModel` or an `nn.Module`.

        Returns:
            The `Param`, its `covariance` from the handle's `color_covariance` where it has one;
            else itself.
        """
        source = _as_handle(model).color_covariance
        if not self.decorrelate or self.covariance is not None or source is None:
            return self
        return replace(self, covariance=source())

    def _color(self, like: torch.Tensor) -> torch.Tensor:
        if not self.decorrelate or self.covariance is None:
            return torch.eye(3, device=like.device, dtype=like.dtype)
        return color_sqrt(self.covariance).to(like)

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
        spatial = _mix_colors(torch.linalg.inv(color), logits)
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
