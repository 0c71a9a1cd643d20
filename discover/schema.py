"""Checks of JSON read back from disk (results.json, a checkpoint), one field at a time.

Why: a results file may have been edited, truncated or written by something
else. Every field read back is checked for its type and range here, and a bad
one is a one-line :class:`~discover.errors.DataError` naming its path in the
document (``laws[3].constants.alpha``), never an internal error later and never
a silent wrong answer (an ``"inf"`` constant, a ``true`` read as index 1).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .errors import DataError

_INF = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf, "-infinity": -math.inf}


def fail(path: str, problem: str) -> DataError:
    return DataError(f"results file: {path} {problem}")


def mapping(value, path: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise fail(path, f"must be an object, got {type(value).__name__}")
    return value


def sequence(value, path: str) -> list:
    if not isinstance(value, list):
        raise fail(path, f"must be a list, got {type(value).__name__}")
    return value


def text(value, path: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise fail(path, f"must be text, got {type(value).__name__}")
    return value


def flag(value, path: str, default: bool | None = None) -> bool:
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise fail(path, f"must be true or false, got {value!r}")
    return value


def number(value, path: str, *, finite: bool = True, optional: bool = False) -> float | None:
    """A number (``"inf"``-like text for an infinite one where ``finite`` is False)."""
    if value is None and optional:
        return None
    if isinstance(value, str) and not finite and value.strip().lower() in _INF:
        return _INF[value.strip().lower()]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(path, f"must be a number, got {value!r}"[:200])
    try:
        out = float(value)
    except OverflowError:
        raise fail(path, "is a number too large for a float") from None
    if finite and not math.isfinite(out):
        raise fail(path, f"must be finite, got {value!r}")
    return out


def index(value, path: str, size: int) -> int | None:
    """None, or a whole number 0 <= i < size (``true`` is not 1)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise fail(path, f"must be the index of one of the {size} laws, got {value!r}")
    return value


def constants(value, path: str) -> Any:
    """Fitted constants: name -> finite number, or group -> (name -> finite number)."""
    if value is None:
        return None
    value = mapping(value, path)
    out = {}
    for k, v in value.items():
        if isinstance(v, Mapping):
            out[str(k)] = {str(n): number(x, f"{path}.{k}.{n}") for n, x in v.items()}
        else:
            out[str(k)] = number(v, f"{path}.{k}")
    return out
