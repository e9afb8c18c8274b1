"""The shipped ShapeNet weights: checksummed, loaded offline with `weights_only=True`."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import torch

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.handle import LoadedModel
from cnnlens.data.stats import shape_world_covariance, shape_world_mean
from cnnlens.errors import CnnlensError
from cnnlens.models.shapenet import ShapeNet

WEIGHTS_DIR = Path(__file__).parent / "weights"
MANIFEST_NAME = "manifest.json"
INPUT_SIZE = 64


def read_manifest(weights_dir: Path = WEIGHTS_DIR) -> dict:
    """The manifest written by `cnnlens.train`: heads, files, checksums, accuracy.

    Args:
        weights_dir: The folder holding `manifest.json` and the weights.

    Returns:
        The manifest as a dict.

    Raises:
        CnnlensError: No manifest in `weights_dir` (the weights were not trained there).
    """
    path = weights_dir / MANIFEST_NAME
    if not path.exists():
        raise CnnlensError(
            f"no embedded weights at {weights_dir}; train them: python -m cnnlens.train"
        )
    return json.loads(path.read_text())


@legacy_calls(order=("weights_dir",))
def checkpoint_names(*, weights_dir: Path = WEIGHTS_DIR) -> list[str]:
    """Shipped checkpoints in training order ("epoch0" is the random init, "final" last).

    Args:
        weights_dir: The directory of the weights and their manifest.

    Returns:
        The checkpoint names.

    Raises:
        CnnlensError: No manifest in `weights_dir`.
    """
    files = read_manifest(weights_dir)["files"]
    return sorted(files, key=lambda name: files[name]["images_seen"])


def _load_shapes(checkpoint: str = "final", weights_dir: Path = WEIGHTS_DIR) -> LoadedModel:
    """The embedded ShapeNet at a shipped checkpoint, verified against its sha256.

    Its handle carries the shape world's colour covariance and mean image (`cnnlens.data.stats`).
    """
    manifest = read_manifest(weights_dir)
    files = manifest["files"]
    if checkpoint not in files:
        raise CnnlensError(
            f"unknown checkpoint {checkpoint!r}; "
            f"shipped: {', '.join(checkpoint_names(weights_dir=weights_dir))}"
        )
    entry = files[checkpoint]
    data = (weights_dir / entry["file"]).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise CnnlensError(f"checksum mismatch for {entry['file']}: the weights file is corrupt")
    buffer = io.BytesIO(data)  # the verified bytes: never re-read the file after the check
    state = torch.load(buffer, map_location="cpu", weights_only=True)
    heads = manifest["heads"]
    class_names = tuple(f"{head}:{name}" for head, names in heads.items() for name in names)
    net = ShapeNet(len(class_names))
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    net.eval()
    spans, start = {}, 0
    for head, names in heads.items():
        spans[head] = slice(start, start + len(names))
        start += len(names)
    return LoadedModel(
        net=net,
        name="shapes" if checkpoint == "final" else f"shapes@{checkpoint}",
        input_size=manifest.get("input_size", INPUT_SIZE),
        class_names=class_names,
        heads=spans,
        concepts=tuple(manifest.get("concepts", ())),
        pretrained=checkpoint != "epoch0",
        color_covariance=shape_world_covariance,
        mean_image=shape_world_mean,
    )
