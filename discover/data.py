"""Tables of training runs: loading, validation, derived columns.

Every problem is reported as a one-line :class:`DataError` that names the
column, the row and the value, because researchers feed the tool CSVs from
many sources and need to know what to fix.

One module, though long: loading, validation and the derived columns share one
notion of what a usable column is, and the checks only hold if they run in
one order on one table.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import sympy

from .errors import DataError
from .formula import parse_formula, symbol_name

MAX_COLUMNS = 10_000


# --------------------------------------------------------------------------- loading
def read_table(source) -> tuple[pd.DataFrame, str]:
    """Read CSV/TSV/Parquet/JSON-lines from a path, or take a DataFrame. Returns (frame, name)."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        _check_unique_columns(list(map(str, frame.columns)), "table")
        frame.columns = [str(c) for c in frame.columns]
        return frame, "dataframe"
    if isinstance(source, Mapping):
        return read_table(pd.DataFrame(dict(source)))
    path = Path(os.fspath(source))
    if not path.exists():
        raise DataError(f"table {str(path)!r} does not exist")
    if path.is_dir():
        raise DataError(f"table {str(path)!r} is a directory, not a file")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return _read_parquet(path), path.stem
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"table {path.name} is empty")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(f"table {path.name} is UTF-16 text; save it as UTF-8 CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"table {path.name} is not UTF-8 text (bad byte at offset {err.start}); save it as UTF-8 CSV") from None
    if "\x00" in text:
        raise DataError(f"table {path.name} contains NUL bytes; it is not a text table")
    sep = "\t" if suffix == ".tsv" else _sniff(text)
    _check_row_delimiter(text, sep, path.name)
    header = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=sep), [])
    if len(header) > MAX_COLUMNS:
        raise DataError(f"table {path.name} has {len(header)} columns (limit {MAX_COLUMNS})")
    _check_unique_columns([h.strip() for h in header], path.name)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as err:
        raise DataError(f"table {path.name} could not be parsed as CSV: {str(err).splitlines()[0]}") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"table {path.name} is empty") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"table {path.name} has a header but no rows")
    return frame, path.stem


def _sniff(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _check_row_delimiter(text: str, sep: str, name: str):
    """The header is split by ``sep``; a first data row with none of it but another delimiter is a mix-up."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or lines[0].count(sep) == 0 or lines[1].count(sep) > 0:
        return
    for other in (",", ";", "\t", "|"):
        if other != sep and lines[1].count(other) >= lines[0].count(sep):
            raise DataError(f"table {name}: the header is delimited by {sep!r} but the rows by {other!r}; "
                            f"use one delimiter throughout")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install 'discover[parquet]'") from None
    except Exception as err:  # noqa: BLE001 - pyarrow raises many types for corrupt files
        raise DataError(f"table {path.name} is not a readable Parquet file: {str(err).splitlines()[0]}") from None
    if frame.empty:
        raise DataError(f"table {path.name} has no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _check_unique_columns(names: Sequence[str], where: str):
    seen = set()
    for n in names:
        if n in seen:
            raise DataError(f"column {n!r} appears twice in {where}")
        seen.add(n)


# --------------------------------------------------------------------------- dataset
@dataclass
class Dataset:
    """A validated table: numeric feature and target columns, optional group and weight."""

    frame: pd.DataFrame
    target: str
    features: list[str]
    group: str | None = None
    weight: str | None = None
    name: str = "table"
    derived: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # what a user must know about the table (shown as warnings)
    direction: str = "minimize"  # "maximize" for a score (accuracy): optimal allocation seeks its maximum
    curve: dict | None = None  # a curve table: its run and step columns, LR and schedule features (schedule.CurveSpec)

    @property
    def runs(self) -> np.ndarray | None:
        """The run of each row of a curve table (``None`` for a table of final results)."""
        return None if self.curve is None else self.frame[self.curve["run"]].astype(str).to_numpy()

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.target].to_numpy(dtype=float)

    @property
    def groups(self) -> np.ndarray | None:
        return None if self.group is None else self.frame[self.group].astype(str).to_numpy()

    @property
    def weights(self) -> np.ndarray | None:
        return None if self.weight is None else self.frame[self.weight].to_numpy(dtype=float)

    @property
    def target_positive(self) -> bool:
        return bool(np.all(self.y > 0))

    def X(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Feature columns by their formula identifiers."""
        f = self.frame if rows is None else self.frame.iloc[rows]
        return {symbol_name(c): f[c].to_numpy(dtype=float) for c in self.features}

    def positive_features(self) -> set[str]:
        return {symbol_name(c) for c in self.features if bool((self.frame[c] > 0).all())}

    def hash(self) -> str:
        cols = [c for c in [*self.features, self.target, self.group, self.weight] if c]
        h = hashlib.sha256()
        h.update(",".join(cols).encode())
        h.update(pd.util.hash_pandas_object(self.frame[cols], index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "rows": self.n_rows,
            "columns": list(self.frame.columns),
            "target": self.target,
            "features": list(self.features),
            "group": self.group,
            "n_groups": None if self.group is None else int(self.frame[self.group].nunique()),
            "weight": self.weight,
            "derived": dict(self.derived),
            "direction": self.direction,
            **({"curve": dict(self.curve)} if self.curve else {}),
            "hash": self.hash(),
        }


def load_dataset(
    source,
    *,
    target: str,
    features: Sequence[str] | str,
    group: str | None = None,
    weight: str | None = None,
    derive: Mapping[str, str] | None = None,
    keep: Sequence[str] = (),
    name: str | None = None,
) -> Dataset:
    """Load and validate a table. ``derive`` adds columns from formulas, e.g.
    ``{"flops": "6*params*tokens"}``; ``keep`` names extra columns to carry (e.g. a split column)."""
    frame, default_name = read_table(source)
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    features = list(features)
    if not features:
        raise DataError("no features given; name at least one feature column")
    if not isinstance(target, str) or not target:
        raise DataError("no target given; name the target column")
    derived = {}
    for col, formula in (derive or {}).items():
        frame[col] = derived_column(frame, col, formula)
        derived[col] = formula
    _check_unique_columns(features, "the feature list")
    group_columns = group_parts(group, frame.columns)
    group = group_column(frame, group)
    wanted = [target, *features, *(c for c in (group, weight) if c), *keep]
    _require_columns(frame, wanted)
    if target in features:
        raise DataError(f"column {target!r} is both the target and a feature")
    for col in group_columns:
        if col == target or col in features:
            raise DataError(f"group column {col!r} is also the target or a feature")
    symbols = [symbol_name(f) for f in features]
    if len(set(symbols)) < len(symbols):
        raise DataError("two feature names map to the same formula identifier; rename one of them")
    for col in [target, *features, *([weight] if weight else [])]:
        frame[col] = numeric_column(frame, col)
    if weight and (frame[weight] < 0).any():
        raise DataError(f"weight column {weight!r} has negative values")
    if weight and not frame[weight].sum() > 0:
        raise DataError(f"weight column {weight!r} sums to zero: no row would count in a fit; give some rows weight")
    y = frame[target].to_numpy(dtype=float)
    if len(y) < 2:
        raise DataError(f"table has only {len(y)} row{'' if len(y) == 1 else 's'}; fitting a law needs several runs")
    if np.nanmax(np.abs(y)) > 1e250:
        raise DataError(f"target {target!r} has values too large to fit (|y| up to {np.nanmax(np.abs(y)):.3g})")
    if 0 < np.nanmax(np.abs(y)) < 1e-250:
        raise DataError(f"target {target!r} has values too small to fit (|y| at most {np.nanmax(np.abs(y)):.3g}); "
                        f"rescale it (e.g. multiply by a power of ten)")
    if np.ptp(y) == 0:
        raise DataError(f"target {target!r} is constant (every value is {y[0]:g}); there is nothing to fit")
    for f in features:
        x = frame[f].to_numpy(dtype=float)
        if np.nanmax(np.abs(x)) > 1e250 or (np.any(x != 0) and np.nanmin(np.abs(x[x != 0])) < 1e-250):
            raise DataError(f"feature {f!r} has values outside the range the fitter can handle (1e-250 to 1e250)")
        if np.array_equal(x, y):
            raise DataError(f"feature {f!r} is identical to the target {target!r}")
    if group is not None:
        _nested(frame, group)
        missing = frame[group].isna()
        if missing.any():
            raise DataError(f"group column {group!r} has {int(missing.sum())} missing cells (first at row "
                            f"{int(np.flatnonzero(missing.to_numpy())[0]) + 1}); fill them or drop those rows")
        frame[group] = frame[group].astype(str)
        per = frame.groupby(group)[target].agg(lambda s: s.max() - s.min())
        flat = per[per == 0]
        if len(flat) == len(per):
            raise DataError(f"target {target!r} is constant within every group of {group!r}")
    cols = list(dict.fromkeys([c for c in [*features, target, group, weight, *keep, *derived] if c]))
    return Dataset(frame=frame[cols].reset_index(drop=True), target=target, features=features,
                   group=group, weight=weight, name=name or default_name, derived=derived,
                   notes=table_notes(frame, target, features))


#: The design's condition number in log space above which features are collinear: their effects cannot be
#: told apart by any law (a float64 fit resolves about 1e-8 of a spread, so 1e6 leaves no usable digits).
COLLINEAR_CONDITION = 1e6


def table_notes(frame: pd.DataFrame, target: str, features: Sequence[str]) -> list[str]:
    """What a user must know before reading the laws: zeros that move the errors off the log scale,
    features whose effects the rows cannot separate."""
    notes = []
    y = frame[target].to_numpy(dtype=float)
    zeros = int(np.sum(y == 0))
    if zeros and np.all(y >= 0):
        notes.append(f"target {target!r} has {zeros} zero value{'s' if zeros > 1 else ''}: errors are measured on "
                     f"the target itself (RMSE), not on its log, and laws are fitted on raw residuals")
    if len(features) >= 2:
        cols = []
        for f in features:
            x = frame[f].to_numpy(dtype=float)
            cols.append(np.log(x) if np.all(x > 0) else x)
        Z = np.column_stack(cols)
        Z = Z - Z.mean(axis=0)
        sd = Z.std(axis=0)
        if np.all(sd > 0):
            _, s, vt = np.linalg.svd(Z / sd, full_matrices=False)
            if s[-1] <= s[0] / COLLINEAR_CONDITION:
                involved = [f for f, w in zip(features, vt[-1]) if abs(w) > 0.1]
                notes.append(f"features {', '.join(involved)} are collinear in log space (condition "
                             f"{s[0] / max(s[-1], 1e-300):.2g}): no law can tell their effects apart, so their "
                             f"exponents are not identified, nor is an allocation of compute between them")
    return notes


#: Between the values of the columns of a group named by several columns: "NMT | log_perplexity | 6 Enc".
GROUP_JOIN = " | "


def group_parts(group, columns=()) -> list[str]:
    """The columns a group is named by: ``"domain,task,model"`` or a list of names, or one column
    (a name among ``columns``, the table's, is one column even when it holds a comma)."""
    if group is None:
        return []
    if isinstance(group, str) and group in columns:
        return [group]
    parts = group.split(",") if isinstance(group, str) else [str(p) for p in group]
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        raise DataError("the group names no column")
    return parts


def group_column(frame: pd.DataFrame, group) -> str | None:
    """The name of the group column, built in ``frame`` (in place) when the group is several columns.

    Learning-curve collections name a curve by several columns (domain, task,
    model); the combined column is called by the names joined with commas and
    holds the values joined with :data:`GROUP_JOIN`, so a results file can
    rebuild it from any table that has the parts. A column whose own name
    holds a comma is taken as it is.
    """
    if group is None:
        return None
    parts = group_parts(group, frame.columns)
    if len(parts) == 1:
        return parts[0]
    _check_unique_columns(parts, "the group columns")
    _require_columns(frame, parts)
    name = ",".join(parts)
    frame[name] = frame[parts].astype(str).agg(GROUP_JOIN.join, axis=1)
    return name


def _require_columns(frame: pd.DataFrame, cols: Sequence[str]):
    """All named columns must exist; name every missing one, and hint at a wrong delimiter
    when the table was read as a single column whose name holds several."""
    missing = [c for c in dict.fromkeys(cols) if c not in frame.columns]
    if not missing:
        return
    if len(frame.columns) == 1:
        only = str(frame.columns[0])
        seps = [d for d in (",", ";", "\t", "|") if d in only]
        if seps:
            raise DataError(f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                            f"{'are' if len(missing) > 1 else 'is'} not in the table, which was read as one column "
                            f"{only[:80]!r}: is it delimited by {seps[0]!r}? (.tsv files are read with tabs, "
                            f"others by the delimiter of their first line)")
    if len(missing) > 1:
        raise DataError(f"columns {', '.join(map(repr, missing))} are not in the table "
                        f"(columns: {', '.join(map(str, list(frame.columns)[:12]))}{', ...' if len(frame.columns) > 12 else ''})")
    _require_column(frame, missing[0])


def _require_column(frame: pd.DataFrame, col: str):
    if col not in frame.columns:
        close = difflib.get_close_matches(col, list(map(str, frame.columns)), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else f" (columns: {', '.join(map(str, list(frame.columns)[:12]))}{', ...' if len(frame.columns) > 12 else ''})"
        raise DataError(f"column {col!r} is not in the table{hint}")


def _nested(frame: pd.DataFrame, col: str) -> None:
    """A column that holds lists or structs (Parquet) cannot be a feature, target, weight or group."""
    if frame[col].dtype == object and frame[col].map(lambda v: isinstance(v, (list, dict, np.ndarray))).any():
        raise DataError(f"column {col!r} holds nested values (lists or structs); flatten it first")


def numeric_column(frame: pd.DataFrame, col: str) -> pd.Series:
    _nested(frame, col)
    s = frame[col]
    if s.dtype == bool:
        raise DataError(f"column {col!r} is boolean, not numeric")
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = str(s.iloc[i])
        hint = " (a decimal comma? write decimals with '.')" if re.fullmatch(r"\s*[-+]?\d+,\d+([eE][-+]?\d+)?\s*", value) else ""
        raise DataError(f"column {col!r} has non-numeric values (row {i + 1}: {value[:40]!r}){hint}")
    arr = num.to_numpy(dtype=float)
    nonfinite = ~np.isfinite(arr)
    if nonfinite.any():
        i = int(np.flatnonzero(nonfinite)[0])
        raise DataError(f"column {col!r} has {int(nonfinite.sum())} missing or infinite values (first at row {i + 1})")
    return num.astype(float)


def derived_column(frame: pd.DataFrame, col: str, formula: str) -> np.ndarray:
    """Compute a derived column from a safely parsed formula over existing columns."""
    if col in frame.columns:
        raise DataError(f"derived column {col!r} already exists in the table")
    expr = parse_formula(formula, name=f"derived column {col!r}")
    names = sorted(str(s) for s in expr.free_symbols)
    by_symbol = {symbol_name(c): c for c in frame.columns}
    missing = [n for n in names if n not in by_symbol]
    if missing:
        raise DataError(f"derived column {col!r} uses unknown columns {missing}")
    cols = [numeric_column(frame, by_symbol[n]).to_numpy(dtype=float) for n in names]
    try:
        fn = sympy.lambdify([sympy.Symbol(n, real=True) for n in names], expr, modules="numpy")
        with np.errstate(all="ignore"):
            out = np.broadcast_to(np.asarray(fn(*cols), dtype=float), (len(frame),)).copy()
    except (ArithmeticError, TypeError, ValueError, KeyError):
        raise DataError(f"derived column {col!r} = {formula} gives non-finite or non-real values") from None
    if not np.all(np.isfinite(out)):
        raise DataError(f"derived column {col!r} = {formula} gives non-finite values")
    return out


def parse_derive(items: Sequence[str]) -> dict[str, str]:
    """CLI form ``name=formula`` → {name: formula}."""
    out = {}
    for item in items or ():
        if "=" not in item:
            raise DataError(f"--derive {item!r} must look like NAME=FORMULA, e.g. flops=6*params*tokens")
        name, formula = item.split("=", 1)
        name = name.strip()
        if not name:
            raise DataError(f"--derive {item!r} has no column name")
        out[name] = formula.strip()
    return out


def needs_positive(law_expr: sympy.Expr, variable: str) -> bool:
    """True when the law takes a log or a non-integer power of ``variable``."""
    sym = sympy.Symbol(variable, positive=True)
    for node in sympy.preorder_traversal(law_expr):
        if isinstance(node, sympy.log) and node.args[0].has(sym):
            return True
        if isinstance(node, sympy.Pow) and node.base.has(sym) and not (node.exp.is_Integer):
            return True
    return False


def check_positive_for_law(dataset: Dataset, law, rows: np.ndarray | None = None):
    """Raise DataError if ``law`` takes logs/powers of a feature that has values <= 0."""
    X = dataset.X(rows)
    for v in law.variables:
        if v in X and np.any(X[v] <= 0) and needs_positive(law.expr, v):
            i = int(np.flatnonzero(X[v] <= 0)[0])
            raise DataError(f"feature {v!r} has values <= 0 (row {i + 1}: {X[v][i]:g}) but law {law.name} takes its power or log")

