"""The one error type cnnlens raises for bad input, so callers and widgets can show one line."""

from __future__ import annotations


class CnnlensError(ValueError):
    """Bad input to a cnnlens call (unknown layer, unit out of range, bad image, ...).

    A ValueError subclass, so plain `except ValueError` still works; the message is one line.
    """
