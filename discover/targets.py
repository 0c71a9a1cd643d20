"""Several targets in one table: one law per target, or one form shared by all.

Tables of training runs often carry many targets at once (validation loss on
each domain, downstream accuracies). Two questions follow, and both reduce to
what the single-target pipeline already does:

- *one law per target*: the table is cut into one table per target (rows
  where that target is missing are dropped, and said so) and each is run on
  its own;
- *one shared form*: the table is stacked ("melted") so that every row becomes
  one row per target, with a ``target`` column naming which; searching with
  ``target`` as the group gives one functional form whose constants are refit
  per target (per target and group, when the table has groups too).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .data import group_column, group_parts, read_table
from .errors import DataError
from .options import SearchOptions, TableSpec

TARGET_COLUMN = "target"
VALUE_COLUMN = "value"


def parse_targets(targets, frame: pd.DataFrame | None = None) -> list[str]:
    """Target names from a list or a comma-separated string; at least two, distinct, present."""
    if isinstance(targets, str):
        names = [t.strip() for t in targets.split(",") if t.strip()]
    else:
        names = [str(t) for t in targets]
    if len(names) < 2:
        raise DataError("several targets need at least two names (use target= for one)")
    dup = sorted({t for t in names if names.count(t) > 1})
    if dup:
        raise DataError(f"target {dup[0]!r} is named twice")
    if frame is not None:
        missing = [t for t in names if t not in frame.columns]
        if missing:
            raise DataError(f"target column {missing[0]!r} is not in the table")
    return names


def _read(data, targets, features, group):
    """The table, its name, the checked target names, the feature list and the group column
    (built when the group is named by several columns)."""
    frame, default_name = read_table(data)
    names = parse_targets(targets, frame)
    feats = [f.strip() for f in features.split(",")] if isinstance(features, str) else list(features)
    _check_roles(names, feats, group_parts(group, frame.columns))
    return frame, default_name, names, feats, group_column(frame, group)


def _check_roles(names: Sequence[str], features: Sequence[str], group_columns: Sequence[str]):
    for t in names:
        if t in features:
            raise DataError(f"column {t!r} is both a target and a feature")
        if t in group_columns:
            raise DataError(f"column {t!r} is both a target and the group column")


def one_table(frame: pd.DataFrame, target: str, others: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The table for one target: the other targets' columns dropped, rows without this target dropped."""
    out = frame.drop(columns=[t for t in others if t != target])
    y = pd.to_numeric(out[target], errors="coerce")
    keep = y.notna() & np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    return out.loc[keep].reset_index(drop=True), int((~keep).sum())


def melt(frame: pd.DataFrame, targets: Sequence[str], group: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """Stack the targets: one row per (run, target); returns (table, value column, group column).

    The group column is ``target``, or ``<group>|<target>`` combined when the
    table already has groups. Rows whose target value is missing are dropped.
    """
    taken = set(frame.columns)
    tcol = _free_name(TARGET_COLUMN, taken)
    vcol = _free_name(VALUE_COLUMN, taken | {tcol})
    ids = [c for c in frame.columns if c not in targets]
    long = frame.melt(id_vars=ids, value_vars=list(targets), var_name=tcol, value_name=vcol)
    y = pd.to_numeric(long[vcol], errors="coerce")
    long = long.loc[y.notna() & np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))].reset_index(drop=True)
    if not len(long):
        raise DataError("no row has a value for any of the targets")
    if group is None:
        return long, vcol, tcol
    gcol = _free_name(f"{group}|{tcol}", set(long.columns))
    long[gcol] = long[group].astype(str) + "|" + long[tcol].astype(str)
    return long, vcol, gcol


def _free_name(name: str, taken) -> str:
    while name in taken:
        name += "_"
    return name


def slug(name: str) -> str:
    """A directory name for a target (target names like 'pile-validation/CrossEntropyLoss')."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "target"
    return s[:80]


def run_each(func: Callable, data, targets, *, features, group=None, name=None, **kwargs) -> dict:
    """``func`` (``discover.fit`` or ``discover.discover``) once per target: {target: Result}.

    ``time_budget``, when given, is split evenly between the targets. Each
    Result carries a warning naming the rows dropped for a missing target.
    """
    frame, default_name, names, feats, group = _read(data, targets, features, group)
    if "time_budget" in kwargs and kwargs["time_budget"] is not None:
        kwargs["time_budget"] = float(kwargs["time_budget"]) / len(names)
    return _each(frame, names, lambda table, t: func(table, target=t, features=feats, group=group,
                                                     name=f"{name or default_name}:{t}", **kwargs))


def run_shared(func: Callable, data, targets, *, features, group=None, name=None, **kwargs):
    """``func`` once on the stacked table: one form, constants refit per target. Returns one Result."""
    frame, default_name, names, feats, group = _read(data, targets, features, group)
    long, vcol, gcol = melt(frame, names, group)
    res = func(long, target=vcol, features=feats, group=gcol, name=f"{name or default_name}:{'+'.join(names)}",
               **kwargs)
    return _mark_shared(res, names)


def each_target(runner: Callable, data, targets, table: TableSpec, *args, search: SearchOptions | None = None,
                **kwargs) -> dict:
    """:func:`run_each` with settings as objects: ``runner`` (``pipeline.run_fit`` or
    ``search.run_search``) is called as ``runner(rows, table, *args, [search,] **kwargs)`` once per
    target, ``table``'s target replaced by each in turn; the search's time budget is split evenly."""
    frame, default_name, names, feats, group = _read(data, targets, table.features, table.group)
    more = () if search is None else (dataclasses.replace(search, time_budget=search.time_budget / len(names)),)

    def one(rows, t):
        spec = dataclasses.replace(table, target=t, features=tuple(feats), group=group,
                                   name=f"{table.name or default_name}:{t}")
        return runner(rows, spec, *args, *more, **kwargs)

    return _each(frame, names, one)


def shared_target(runner: Callable, data, targets, table: TableSpec, *args, **kwargs):
    """:func:`run_shared` with settings as objects (see :func:`each_target`)."""
    frame, default_name, names, feats, group = _read(data, targets, table.features, table.group)
    long, vcol, gcol = melt(frame, names, group)
    spec = dataclasses.replace(table, target=vcol, features=tuple(feats), group=gcol,
                               name=f"{table.name or default_name}:{'+'.join(names)}")
    return _mark_shared(runner(long, spec, *args, **kwargs), names)


def _each(frame: pd.DataFrame, names: Sequence[str], run: Callable) -> dict:
    tables = {}
    for t in names:  # check every target before the first long run starts
        tables[t] = one_table(frame, t, names)
        if not len(tables[t][0]):
            raise DataError(f"target {t!r} has no values")
    out = {}
    for t in names:
        table, dropped = tables[t]
        res = run(table, t)
        if dropped:
            res.warnings.append(f"{dropped} rows without a value of {t!r} were left out")
        out[t] = res
        if getattr(res, "status", "complete") != "complete":
            break  # interrupted: the targets not yet run are left for another run
    return out


def _mark_shared(res, names):
    res.options = {**res.options, "targets": list(names), "shared_form": True}
    return res


def summary(results: Mapping[str, object]) -> pd.DataFrame:
    """One row per target: its recommended law and that law's validation and test errors."""
    rows = []
    for t, res in results.items():
        row = {"target": t, "law": None}
        if res.recommended is not None:
            s = res.laws[res.recommended]
            row["law"] = s.law.name
            row["provenance"] = s.law.provenance
            for split in ("val", "test"):
                m = s.metrics.get(split) or {}
                row[f"{split}_r2"] = m.get("r2")
                row[f"{split}_rmse_log"] = m.get("rmse_log")
        rows.append(row)
    return pd.DataFrame(rows)
