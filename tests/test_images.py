"""User images: pixel values scaled by dtype and bit depth, any layout, and hints that run."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlens.data
from cnnlens.core._inputs import check_images
from cnnlens.data.images import load_image
from cnnlens.errors import CnnlensError

RAMP = np.linspace(0, 1, 48 * 64, dtype=np.float64).reshape(48, 64)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def gray(values: np.ndarray) -> torch.Tensor:
    """The (3, H, W) float32 tensor of a gray image given as values in [0, 1]."""
    return torch.from_numpy(values.astype(np.float32)).expand(3, -1, -1)


def test_a_16_bit_grayscale_png_is_scaled_by_its_bit_depth():
    sixteen = np.round(RAMP * 65535).astype(np.uint16)
    assert Image.open(io.BytesIO(png_bytes(sixteen))).mode.startswith("I")
    expected = gray(sixteen / 65535)
    assert torch.allclose(load_image(png_bytes(sixteen)), expected, atol=1e-7)
    assert torch.allclose(load_image(sixteen), expected, atol=1e-7)  # the array itself


def test_a_16_bit_image_resizes_like_its_8_bit_version():
    sixteen, eight = np.round(RAMP * 65535).astype(np.uint16), np.round(RAMP * 255).astype(np.uint8)
    deep, shallow = load_image(png_bytes(sixteen), size=32), load_image(png_bytes(eight), size=32)
    assert deep.shape == shallow.shape == (3, 32, 32)
    assert (deep - shallow).abs().max() < 2 / 255


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (
            np.full((8, 8, 3), 0.5) + np.eye(8)[..., None] * 0.52,
            np.full((8, 8, 3), 0.5) + np.eye(8)[..., None] * 0.5,
        ),  # max 1.02: clipped, not divided by 255
        (np.full((8, 8, 3), 200, np.uint8), np.full((8, 8, 3), 200 / 255)),
        (np.full((8, 8, 3), 200), np.full((8, 8, 3), 200 / 255)),  # int64: 8-bit values
        (np.eye(8, dtype=bool), np.eye(8)[..., None].repeat(3, axis=-1)),
    ],
)
def test_arrays_are_scaled_by_dtype(array, expected):
    loaded = load_image(array)
    assert torch.allclose(loaded, torch.from_numpy(expected).float().permute(2, 0, 1), atol=1e-7)


def test_channels_first_arrays_and_tensors_load_as_given():
    rgb = np.random.default_rng(0).random((3, 20, 30)).astype(np.float32)
    assert torch.equal(load_image(rgb), torch.from_numpy(rgb))
    assert torch.equal(load_image(torch.from_numpy(rgb)), torch.from_numpy(rgb))
    assert torch.equal(load_image(np.moveaxis(rgb, 0, -1)), torch.from_numpy(rgb))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (np.full((8, 8, 3), 200.0), "float images are read as values in \\[0, 1\\]"),
        (np.full((8, 8), 300), "outside 0..255"),
        (np.zeros((2, 8, 8)), "got shape \\(2, 8, 8\\)"),
        ([[0, 1], [1, 0]], "cannot read an image from a list"),
    ],
)
def test_unreadable_sources_get_one_line_errors(source, message):
    with pytest.raises(CnnlensError, match=message) as err:
        load_image(source)
    assert "\n" not in str(err.value)


def test_the_loader_that_errors_name_is_there():
    with pytest.raises(CnnlensError, match=r"cnnlens\.data\.load_image\(path\) reads a file"):
        check_images([0.5])
    assert cnnlens.data.load_image is load_image


@pytest.mark.parametrize(
    ("images", "fix"),
    [
        (torch.rand(64, 64, 3), "x.permute(2, 0, 1)"),
        (torch.rand(2, 64, 64, 3), "x.permute(0, 3, 1, 2)"),
        (torch.rand(1, 32, 32), "x.repeat(3, 1, 1)"),
        (torch.rand(2, 1, 32, 32), "x.repeat(1, 3, 1, 1)"),
        (torch.rand(4, 32, 32), "x[:3]"),
        (torch.rand(2, 4, 32, 32), "x[:, :3]"),
        (torch.rand(32, 32), "x.expand(3, -1, -1)"),
    ],
)
def test_the_hint_for_a_wrong_layout_is_code_that_fixes_it(images, fix):
    with pytest.raises(CnnlensError) as err:
        check_images(images)
    assert fix in str(err.value)
    check_images(eval(fix, {"x": images}))  # the hint works on the tensor as given
