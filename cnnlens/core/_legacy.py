"""Calls in cnnlens 0.x's form keep working for one minor version after 1.0.

The 0.x argument order and the 0.x keyword names are translated to 1.0's, with a FutureWarning once
per function and form.

1.0's one rule for every function: positional arguments are the required inputs in the order model,
images, layer, unit or target; everything else is keyword-only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cnnlens.core._notes import deprecated

F = TypeVar("F", bound=Callable[..., Any])

_said: set[tuple[str, str]] = set()


def warn_once(function: str, form: str, text: str) -> None:
    """Say `text` (a FutureWarning at the user's line) at the first call of `function` in `form`.

    `form` names the 0.x call form.
    """
    if (function, form) not in _said:
        _said.add((function, form))
        deprecated(text)


def legacy_calls(
    order: tuple[str, ...] = (),
    renamed: Mapping[str, str] | None = None,
    old_order: Callable[[tuple[Any, ...]], bool] | None = None,
) -> Callable[[F], F]:
    """Decorate a 1.0 function so that its 0.x calls still work (and warn once each).

    Args:
        order: the 0.x parameter names in their 0.x positional order. Positional arguments are
            read in this order when there are more of them than 1.0 takes positionally, or when
            `old_order(args)` says they are in the 0.x order (for a reordered signature).
        renamed: 0.x keyword name -> 1.0 name.
        old_order: whether positional `args` follow the 0.x order (e.g. a layer name where 1.0
            takes images).

    Raises:
        TypeError: an argument given twice, once under each name.
    """
    renames = dict(renamed or {})

    def wrap(function: F) -> F:
        name = function.__qualname__.removesuffix(".__init__")
        parameters = inspect.signature(function).parameters.values()
        positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        keywords = [f"{p.name}=" for p in parameters if p.kind is p.KEYWORD_ONLY]
        form = f"{name}({', '.join([p for p in positional if p != 'self'] + ['*'] + keywords)})"

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            if order and (len(args) > len(positional) or (old_order and old_order(args))):
                if len(args) > len(order):
                    taken = len([p for p in positional if p != "self"])
                    raise TypeError(f"{name}() takes {taken} positional arguments")
                old = f"{name}({', '.join(p for p in order[: len(args)] if p != 'self')})"
                warn_once(name, "order", f"{old} is the 0.x form; cnnlens 1.0 takes {form}")
                for old_key, value in zip(order, args, strict=False):
                    key = renames.get(old_key, old_key)
                    if key in kwargs:
                        raise TypeError(f"{name}() got two values for {key!r}")
                    kwargs[key] = value
                args = ()
            for old_name, new_name in renames.items():
                if old_name in kwargs:
                    if new_name in kwargs:
                        raise TypeError(f"{name}() got both {old_name!r} and {new_name!r}")
                    kwargs[new_name] = kwargs.pop(old_name)
                    warn_once(
                        name, old_name, f"{name}({old_name}=...) is now {name}({new_name}=...)"
                    )
            return function(*args, **kwargs)

        return call  # type: ignore[return-value]  # functools.wraps keeps F's signature

    return wrap


C = TypeVar("C", bound=type)


def legacy_fields(
    order: tuple[str, ...], renamed: Mapping[str, str] | None = None
) -> Callable[[C], C]:
    """Decorate a 1.0 record class (keyword-only options) so that its 0.x constructor calls work.

    Args:
        order: The 0.x field names in their 0.x positional order.
        renamed: 0.x field name -> 1.0 name.

    Returns:
        A class decorator that wraps the class's `__init__` with `legacy_calls`.
    """

    def wrap(cls: C) -> C:
        cls.__init__ = legacy_calls(("self", *order), renamed)(cls.__init__)  # type: ignore[misc]
        return cls

    return wrap
