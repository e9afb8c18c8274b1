"""The one error type cnnlens raises for bad input, so callers and widgets can show one line."""

from __future__ import annotations


class CnnlensError(ValueError):
    """Bad input to a cnnlens call (unknown layer, unit out of range, bad image, ...).

    A ValueError subclass, so plain `except ValueError` still works; the message is one line.
    """


class CnnlensWarning(UserWarning):
    """A one-line note that a result is not quite what its name promises.

    For example guided backprop on a network with SiLU activations, which have no guided rule.
    """
