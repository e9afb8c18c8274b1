"""Train the embedded ShapeNet on the shape world: `python -m cnnlens.train`.

Deterministic (seeded model init, every image generated from (seed, index)), budgeted by images
seen rather than seconds, and it writes the final weights plus fp16 early checkpoints (for the
"filters over training" view) with a checksummed manifest into the package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F

from cnnlens.core._legacy import legacy_calls
from cnnlens.core.guard import preserved
from cnnlens.data import CONCEPTS, HEAD_CLASSES, HEADS, ShapeWorld
from cnnlens.data._batches import prefetched
from cnnlens.models.embedded import INPUT_SIZE, MANIFEST_NAME, WEIGHTS_DIR
from cnnlens.models.shapenet import ShapeNet

__all__ = ["evaluate", "train"]  # and `python -m cnnlens.train` (main)

TRAIN_SEED, HELD_OUT_SEED = 0, 1
EPOCH_IMAGES = 8192
CHECKPOINT_EPOCHS = (0, 1, 2, 4)


def _head_spans() -> dict[str, slice]:
    """Where each head's logits sit in the concatenated output."""
    spans, start = {}, 0
    for head in HEADS:
        spans[head] = slice(start, start + len(HEAD_CLASSES[head]))
        start += len(HEAD_CLASSES[head])
    return spans


def _multi_head_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum of the heads' cross-entropies, so the net must learn shape, color AND texture."""
    losses = (
        F.cross_entropy(logits[:, span], labels[:, i])
        for i, span in enumerate(_head_spans().values())
    )
    return cast(torch.Tensor, sum(losses))  # typed `Tensor | int`: 0 only for no heads


@torch.no_grad()
@legacy_calls(order=("net", "images", "seed"))
def evaluate(
    net: torch.nn.Module, *, images: int = 2000, seed: int = HELD_OUT_SEED
) -> dict[str, float]:
    """Held-out accuracy per head on shape-world images never seen in training.

    Args:
        net: A network with ShapeNet's outputs (the three heads' logits, concatenated) for [0, 1]
            RGB images of 64 px; it is read through a working view, never changed.
        images: Number of held-out images.
        seed: Seed of the held-out shape world (training uses another).

    Returns:
        {head name: accuracy in [0, 1]}.
    """
    world = ShapeWorld(length=images, seed=seed, size=INPUT_SIZE)
    correct = torch.zeros(len(HEADS))
    with preserved(net) as guard:  # an eval-mode view: no flag of `net` is ever written
        for start in range(0, images, 500):
            batch = world.batch(start, min(500, images - start))
            logits = guard.model(batch.images)
            for i, span in enumerate(_head_spans().values()):
                correct[i] += (logits[:, span].argmax(1) == batch.labels[:, i]).sum()
    return {head: round(float(c) / images, 4) for head, c in zip(HEADS, correct, strict=True)}


def _learning_rate(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to zero."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def _start_first_layer_small(net: ShapeNet, scale: float = 0.01) -> None:
    """Shrink conv1's random init so its trained filters show learned structure, not init noise.

    Adam moves every weight by about the learning rate per step whatever its size, and BatchNorm
    after conv1 makes its scale irrelevant, so the random start never decays. At full size it
    dominates: trained filters kept cosine similarity 0.9 with their init and looked like noise.
    """
    conv1 = net.get_submodule("conv1")
    assert isinstance(conv1, torch.nn.Conv2d)
    with torch.no_grad():
        conv1.weight.mul_(scale)


def _save(state: dict[str, torch.Tensor], path: Path, half: bool) -> str:
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@legacy_calls(order=("images", "batch_size", "lr", "seed", "out", "eval_images", "log"))
def train(
    *,
    images: int = 8 * EPOCH_IMAGES,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = TRAIN_SEED,
    out: Path = WEIGHTS_DIR,
    eval_images: int = 2000,
    log: Callable[[str], None] = print,
) -> dict:
    """Train ShapeNet on the shape world; write weights, checkpoints and the manifest to `out`.

    Args:
        images: Number of training images (seen once each).
        batch_size: Images per step.
        lr: Peak AdamW learning rate (warm-up then cosine decay).
        seed: Seed of the training shape world and of the initialization.
        out: Folder for `shapes.pt`, the half-precision checkpoints and `manifest.json`.
        eval_images: Held-out images for the final `evaluate`.
        log: Receives one line per progress report.

    Returns:
        The manifest written (`read_manifest` reads it back): heads, files, checksums, accuracy.
    """
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    world = ShapeWorld(length=images, seed=seed, size=INPUT_SIZE)
    # channels-last makes the CPU convolutions ~1.4x faster here; results are unaffected.
    net = ShapeNet(sum(len(HEAD_CLASSES[h]) for h in HEADS)).to(memory_format=torch.channels_last)
    _start_first_layer_small(net)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    steps = images // batch_size
    files: dict[str, dict] = {}
    started = time.perf_counter()

    def checkpoint(name: str, seen: int, half: bool) -> None:
        path = out / f"shapes_{name}.pt" if half else out / "shapes.pt"
        files[name] = {
            "file": path.name,
            "sha256": _save(net.state_dict(), path, half),
            "images_seen": seen,
        }

    net.train()
    for step, batch in enumerate(prefetched(world, batch_size, count=steps * batch_size)):
        seen = step * batch_size
        if seen % EPOCH_IMAGES == 0 and seen // EPOCH_IMAGES in CHECKPOINT_EPOCHS:
            checkpoint(f"epoch{seen // EPOCH_IMAGES}", seen, half=True)
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(step, steps, lr)
        x = batch.images.contiguous(memory_format=torch.channels_last)
        loss = _multi_head_loss(net(x), batch.labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            rate = (seen + batch_size) / (time.perf_counter() - started)
            log(f"step {step + 1}/{steps}  loss {loss.item():.3f}  {rate:.0f} images/s")
    seconds = time.perf_counter() - started
    checkpoint("final", steps * batch_size, half=False)
    accuracy = evaluate(net, images=eval_images)
    log(f"trained on {steps * batch_size} images in {seconds:.0f} s; held-out accuracy {accuracy}")
    manifest = {
        "architecture": "ShapeNet",
        "input_size": INPUT_SIZE,
        "heads": {head: list(HEAD_CLASSES[head]) for head in HEADS},
        "concepts": [f"{category}:{name}" for category, name in CONCEPTS],
        "files": files,
        "training": {
            "images": steps * batch_size,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
            "seconds": round(seconds, 1),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "held_out_accuracy": accuracy,
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8 * EPOCH_IMAGES, help="images seen")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=TRAIN_SEED)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where to write the weights")
    args = parser.parse_args(argv)
    train(images=args.images, batch_size=args.batch_size, lr=args.lr, seed=args.seed, out=args.out)


if __name__ == "__main__":
    main()
