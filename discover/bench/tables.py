"""The rows a task file asks for, from a public table as it was published.

Why declarative: the real tables of the benchmark (``../shared/data``) are read
as their authors published them -- sizes written ``7B``, checkpoints of several
models in one file, separator rows, a label column where 1 means *train* -- and
must not be copied or edited into the repository. A task file says, in a
``rows`` object, which rows and columns its task uses, and this module does it,
the same way every time:

``where``
    ``{column: value or [values]}``: keep rows whose column has one of the values (as text,
    spaces around it ignored);
``above``
    ``{column: number}``: keep rows whose column is a number above it;
``numbers``
    ``[columns]``: read sizes written with a unit suffix (``125m``, ``7B``, ``1.2T``,
    ``64B``) as numbers; a cell that is not a number becomes missing;
``derive``
    ``{name: formula}``: new columns from the safe formula parser
    (``"is_test": "1 - Training"``), after ``numbers``;
``last_of``
    ``{"group": column, "order": column}``: only the last row of each group along
    ``order`` (the final evaluation of every run);
``dropna``
    ``[columns]``: drop rows missing any of them (the target and features always are).

Rows dropped for missing values are counted in the task's ``meta``.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..data import derived_column
from ..errors import DataError
from ..formula import parse_formula, symbol_name

SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_SIZE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtT]?)\s*$")
KEYS = ("where", "above", "numbers", "derive", "last_of", "dropna")


def size_number(value) -> float:
    """``"7B"`` -> 7e9, ``"125m"`` -> 1.25e8, ``3.5`` -> 3.5; NaN for anything else."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    m = _SIZE.match(str(value))
    if not m:
        return float("nan")
    return float(m.group(1)) * SUFFIXES.get(m.group(2).lower(), 1.0)


def prepare_rows(frame: pd.DataFrame, rows: Mapping, used: Sequence[str], where: str) -> tuple[pd.DataFrame, dict]:
    """The task's rows of ``frame`` as ``rows`` says (see the module docstring); ``used`` columns
    (target, features, group) must have values. Returns the rows and what was dropped."""
    if not isinstance(rows, Mapping):
        raise DataError(f"{where}: 'rows' must be an object with some of {', '.join(KEYS)}")
    unknown = sorted(set(rows) - set(KEYS))
    if unknown:
        raise DataError(f"{where}: 'rows' has unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    out = frame.copy()
    for col, values in dict(rows.get("where") or {}).items():
        _need(out, col, where)
        allowed = values if isinstance(values, list) else [values]
        # compared as text without surrounding spaces: published tables carry "OLMo-1B " and 1 vs "1"
        out = out[out[col].astype(str).str.strip().isin([str(v).strip() for v in allowed])]
    for col, lowest in dict(rows.get("above") or {}).items():
        _need(out, col, where)
        out = out[pd.to_numeric(out[col], errors="coerce") > float(lowest)]
    for col in rows.get("numbers") or []:
        _need(out, col, where)
        out[col] = out[col].map(size_number)
    for name, formula in dict(rows.get("derive") or {}).items():
        out = out.reset_index(drop=True)
        out[name] = _derive(out, name, formula)
    last = rows.get("last_of")
    if last is not None:
        if not isinstance(last, Mapping) or not {"group", "order"} <= set(last):
            raise DataError(f"{where}: 'last_of' must be {{\"group\": COLUMN, \"order\": COLUMN}}")
        _need(out, last["group"], where)
        _need(out, last["order"], where)
        order = pd.to_numeric(out[last["order"]], errors="coerce")
        out = out.assign(_order=order).dropna(subset=["_order"])
        out = out.loc[out.groupby(last["group"])["_order"].idxmax()].drop(columns="_order")
    must = list(dict.fromkeys([*used, *(rows.get("dropna") or [])]))
    for col in must:
        _need(out, col, where)
    before = len(out)
    numeric = [c for c in must if c in out.columns]
    keep = out[numeric].notna().all(axis=1)
    out = out[keep].reset_index(drop=True)
    if not len(out):
        raise DataError(f"{where}: no row is left after 'rows'")
    return out, {"rows_dropped_missing": int(before - len(out))}


def _derive(frame: pd.DataFrame, name: str, formula: str) -> np.ndarray:
    """A derived column on the rows where its inputs are numbers (NaN elsewhere)."""
    if not isinstance(formula, str):
        raise DataError(f"derived column {name!r} needs a formula")
    by_symbol = {symbol_name(c): c for c in frame.columns}
    names = [str(s) for s in parse_formula(formula, name=f"derived column {name!r}").free_symbols]
    cols = [by_symbol[n] for n in names if n in by_symbol]
    ok = frame[cols].apply(pd.to_numeric, errors="coerce").notna().all(axis=1).to_numpy()
    values = np.full(len(frame), np.nan)
    if ok.any():
        values[ok] = derived_column(frame.loc[ok, cols].reset_index(drop=True), name, formula)
    return values


def _need(frame: pd.DataFrame, col: str, where: str) -> None:
    if col not in frame.columns:
        raise DataError(f"{where}: the table has no column {col!r}")
