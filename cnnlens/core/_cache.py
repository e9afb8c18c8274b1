"""A cache for results of whole-dataset passes, keyed by the model's weights.

A scan of 2,000 images takes seconds; browsing its result should not. Results live in memory and,
when their dataset can be named again later (the shape world), on disk under `$CNNLENS_CACHE`
(default `~/.cache/cnnlens`), so a re-opened notebook finds them too. The key holds everything
that changes a result: a digest of every parameter and buffer (retrained or edited weights never
hit a stale entry), the handle's preprocessing (normalization, input size), what the caller adds
(layer, pooling, k, the dataset's full identity) and this code's format version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from cnnlens.core.handle import ModelLike, _as_handle

FORMAT = 2  # bump when a cached result's meaning changes (2: keys hold the preprocessing)
T = TypeVar("T")


def _cache_dir() -> Path:
    """Where results are kept on disk: `$CNNLENS_CACHE`, or `~/.cache/cnnlens`."""
    return Path(os.environ.get("CNNLENS_CACHE") or Path.home() / ".cache" / "cnnlens")


def preprocessing(model: ModelLike) -> tuple:
    """What a handle does to images before its network sees them, and which output it reads.

    Returns (mean, std, input size) and the output selector.
    """
    handle = _as_handle(model)
    return (handle.mean, handle.std, handle.input_size, handle.output)


def _fingerprint(net: nn.Module) -> str:
    """A digest of the architecture's class and every parameter and buffer value."""
    digest = hashlib.blake2b(type(net).__qualname__.encode(), digest_size=16)
    for name, tensor in net.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


class ResultStore(Generic[T]):
    """Results of one dataclass type (fields: tensors, numbers, strings), in memory and on disk."""

    def __init__(self, kind: type[T], size: int = 16) -> None:
        self.kind = kind
        self.size = size
        self._memory: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()  # widgets look results up from background threads

    def key(self, model: ModelLike, key: tuple) -> tuple:
        """The full key of a result: format, kind, weights, preprocessing, then `key`."""
        net = _as_handle(model).net
        return (FORMAT, self.kind.__name__, _fingerprint(net), preprocessing(model), *key)

    def get(self, model: ModelLike, key: tuple, compute: Callable[[], T], persist: bool) -> T:
        """The stored result for (`model`'s weights and preprocessing, `key`), computed on a miss.

        A miss computes and stores it. `key` must name everything else the result depends on.
        """
        full = self.key(model, key)
        with self._lock:
            if full in self._memory:
                self._memory.move_to_end(full)
                return self._memory[full]
        path = (
            _cache_dir() / f"{self.kind.__name__.lower()}-{_digest(full)}.pt" if persist else None
        )
        result = self._load(path) if path is not None else None
        if result is None:
            result = compute()
            if path is not None:
                self._save(path, result)
        with self._lock:
            self._memory[full] = result
            while len(self._memory) > self.size:
                self._memory.popitem(last=False)
        return result

    def clear(self) -> None:
        """Forget what is held in memory (the disk copies stay)."""
        with self._lock:
            self._memory.clear()

    def _load(self, path: Path) -> T | None:
        if not path.exists():
            return None
        try:
            fields = torch.load(path, map_location="cpu", weights_only=True)
            return self.kind(**fields)
        except Exception:  # a partial or foreign file: recompute and overwrite it
            return None

    def _save(self, path: Path, result: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
        torch.save(fields, partial)
        partial.replace(path)


def _digest(key: tuple) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
