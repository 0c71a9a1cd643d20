"""Results of a run: scored laws, the leaderboard, results.json read and write.

results.json is the contract other tools read (see DESIGN.md). It is written
atomically (temp file + rename) so a killed process never leaves half a file,
and it is read back through the safe formula parser, never ``eval``.

One module, though long: the writer and the reader are one contract with
results.json and must change together, field for field.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .data import group_column, group_parts, needs_positive, read_table
from . import schema
from .errors import DataError
from .formula import symbol_name
from .law import Law
from .schedule import planned_run
from .score import error_of
from .version import __version__

#: A law's flag: it has no finite (positive) prediction at some test row's inputs, so it cannot forecast there.
NO_FORECAST = "no forecast"
SCHEMA_VERSION = "1.1"  # 1.1: "selection" (how the law was chosen) and the "select" metrics


@dataclass
class Scored:
    """A fitted law and how it did: metrics per split, fit status, intervals."""

    law: Law
    metrics: dict  # split -> metrics dict
    converged: bool = True
    status: str = "ok"  # "ok" or "failed: <reason>"
    message: str = ""
    bic: float = math.nan
    intervals: dict | None = None
    samples: dict | None = None
    forecast: dict | None = None
    mode: str = "refit"  # "refit" or "published"
    at_bounds: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # why the law is not a clean candidate (see discover.select)
    also: list = field(default_factory=list)  # laws merged into this one: the same function on the table

    @property
    def clean(self) -> bool:
        """Not flagged (:mod:`discover.flags`): converged, identifiable, no constant at a bound ..."""
        return bool(self.converged) and not self.at_bounds and not self.flags

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def error(self, split: str, log_space: bool) -> float:
        return error_of(self.metrics.get(split), log_space)

    def to_dict(self, residuals: bool = False) -> dict:
        """Plain JSON data. The per-row selection residuals in the metrics (one number per
        validation row, used to choose) stay out unless asked for: a checkpoint keeps them,
        results.json would grow with the table."""
        d = self.law.to_dict()
        metrics = self.metrics if residuals else {
            k: ({kk: vv for kk, vv in v.items() if kk != "residuals"} if isinstance(v, Mapping) else v)
            for k, v in (self.metrics or {}).items()}
        d.update(
            metrics=_clean(metrics),
            converged=bool(self.converged),
            status=self.status,
            message=self.message,
            bic=_num(self.bic),
            intervals=_clean(self.intervals),
            bootstrap=_clean(self.samples),
            forecast=_clean(self.forecast),
            mode=self.mode,
            at_bounds=list(self.at_bounds),
            flags=list(self.flags),
            also=list(self.also),
        )
        return d

    @classmethod
    def from_dict(cls, d: Mapping, where: str = "law") -> "Scored":
        d = schema.mapping(d, where)
        law = Law.from_dict(d, where)
        metrics = {str(k): dict(schema.mapping(v, f"{where}.metrics.{k}"))
                   for k, v in schema.mapping(d.get("metrics") or {}, f"{where}.metrics").items()}
        mode = schema.text(d.get("mode", "refit"), f"{where}.mode")
        if mode not in ("refit", "published"):
            raise schema.fail(f"{where}.mode", f"must be 'refit' or 'published', got {mode!r}")

        def names(key):
            return [schema.text(v, f"{where}.{key}[{i}]") for i, v in enumerate(schema.sequence(d.get(key, []), f"{where}.{key}"))]

        return cls(
            law=law,
            metrics=metrics,
            converged=schema.flag(d.get("converged"), f"{where}.converged", default=True),
            status=schema.text(d.get("status", "ok"), f"{where}.status"),
            message=schema.text(d.get("message", ""), f"{where}.message"),
            bic=_unnum(schema.number(d.get("bic"), f"{where}.bic", finite=False, optional=True)),
            intervals=_optional_mapping(d.get("intervals"), f"{where}.intervals"),
            samples=_optional_mapping(d.get("bootstrap"), f"{where}.bootstrap"),
            forecast=_optional_mapping(d.get("forecast"), f"{where}.forecast"),
            mode=mode,
            at_bounds=names("at_bounds"),
            flags=names("flags"),
            also=names("also"),
        )


def _direction(value) -> str:
    if value not in ("minimize", "maximize"):
        raise schema.fail("direction", f"must be 'minimize' or 'maximize', got {value!r}")
    return value


def _optional_mapping(value, where: str):
    return None if value is None else dict(schema.mapping(value, where))


def _num(x):
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _unnum(x) -> float:
    if x is None:
        return math.nan
    return float(x)


def _clean(obj):
    """JSON-safe copy: numpy scalars to Python, non-finite floats to strings."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _num(obj)
    return obj


#: How a result draws its figures (``Result.plot``) and shows itself in a notebook: set by
#: :mod:`discover.report`, where the figures and the formulas as math live.
VIEWS: dict = {}


def register_views(plot, html) -> None:
    """Called by :mod:`discover.report` on import: ``plot(result, kind, data, **kw)`` draws one of its
    figures, ``html(result)`` renders it for a notebook."""
    VIEWS.update(plot=plot, html=html)


@dataclass
class Result:
    """A ranked list of scored laws on one dataset and split."""

    laws: list[Scored]
    recommended: int | None
    dataset: dict
    split: dict
    target: str
    features: list[str]
    group: str | None = None
    log_space: bool = True
    direction: str = "minimize"  # "maximize" for a score: the optimum sought is the largest prediction
    engines: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    pareto: list = field(default_factory=list)
    timing: dict = field(default_factory=dict)
    selection: dict = field(default_factory=dict)  # how the recommended law was chosen (rule, folds, reason)
    status: str = "complete"  # or "interrupted: SIGINT" for best-so-far results of a stopped search

    # ---------------------------------------------------------------- views
    @property
    def best(self) -> Law:
        if self.recommended is None:
            raise DataError("no law could be fitted, so there is no recommended law")
        return self.laws[self.recommended].law

    @property
    def best_scored(self) -> Scored:
        self.best  # raises when there is none
        return self.laws[self.recommended]

    @property
    def selection_split(self) -> str:
        return "val" if any(s.metrics.get("val", {}).get("n") for s in self.laws) else "train"

    @property
    def leaderboard(self) -> pd.DataFrame:
        """One row a law: formula (and as LaTeX), train/val/test metrics, complexity, provenance, flags."""
        rows = []
        for i, s in enumerate(self.laws):
            row = {
                "rank": i + 1,
                "name": s.law.name,
                "formula": s.law.formula,
                "latex": f"${s.law.latex}$",  # a notebook typesets it; a paper pastes it
                "provenance": s.law.provenance,
                "mode": s.mode,
                "n_constants": s.law.n_constants,
                "complexity": s.law.complexity,
                "status": s.status,
            }
            for split in ("train", "val", "test"):
                m = s.metrics.get(split) or {}
                for k in ("rmse_log", "mape", "r2") if self.log_space else ("rmse", "mape", "r2"):
                    row[f"{split}_{k}"] = _float(m.get(k))
            key = "rmse_log" if self.log_space else "rmse"
            for band in ("backtest", "select"):  # the band below validation; all held-out bands pooled
                row[f"{band}_{key}"] = _float((s.metrics.get(band) or {}).get(key))
            row["bic"] = s.bic
            row["flags"] = "; ".join(s.flags)
            row["also"] = "; ".join(s.also)
            row["recommended"] = i == self.recommended
            rows.append(row)
        return pd.DataFrame(rows)

    def get(self, name: str | None = None) -> Scored:
        """A scored law by name (or index as a string); the recommended one by default."""
        if name is None:
            return self.best_scored
        for s in self.laws:
            if s.law.name == name:
                return s
        if str(name).isdigit() and 0 < int(name) <= len(self.laws):
            return self.laws[int(name) - 1]
        raise DataError(f"no law named {name!r} in these results (have: {', '.join(s.law.name for s in self.laws[:10])})")

    # ------------------------------------------------------------ predict
    def predict(self, data, *, law: str | None = None, interval: float | None = None):
        """Predictions of the recommended (or named) law on new rows.

        Columns are looked up by the table's own names; per-group constants by
        the group column. With ``interval=0.95`` returns a DataFrame with
        ``prediction``, ``lower``, ``upper`` from the bootstrap constants.
        """
        scored = self.get(law)
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        X = _columns_for(scored.law, frame, self.features)
        for v, x in X.items():  # outside the law's domain: a power or log of a value that is not positive
            if np.any(x <= 0) and needs_positive(scored.law.expr, v):
                i = int(np.flatnonzero(x <= 0)[0])
                raise DataError(f"law {scored.law.name} takes a power or log of {v}, so it needs {v} > 0 "
                                f"(row {i + 1}: {x[i]:g})")
        groups = None
        if scored.law.grouped:
            col = self.group or scored.law.group
            if not set(group_parts(col, frame.columns)) <= set(frame.columns):
                raise DataError(f"law {scored.law.name} has per-group constants; the table needs column {col!r}")
            frame = frame.copy()
            groups = frame[group_column(frame, col)].astype(str).to_numpy()
        pred = scored.law.predict(X, groups=groups)
        if interval is None:
            return pred
        if not 0 < interval < 1:
            raise DataError(f"interval must be between 0 and 1, got {interval}")
        draws = bootstrap_predictions(scored, X, groups)
        if draws is None:
            raise DataError(f"law {scored.law.name} has no bootstrap constants; fit with bootstrap > 0")
        lo, hi = np.nanquantile(draws, [(1 - interval) / 2, 1 - (1 - interval) / 2], axis=0)
        return pd.DataFrame({"prediction": pred, "lower": lo, "upper": hi})

    def predict_schedule(self, schedule, *, at: Mapping | None = None, law: str | None = None,
                         interval: float | None = None) -> pd.DataFrame:
        """The predicted curve of a planned run on a curve table's law: ``schedule`` (a DataFrame or
        a CSV path) holds the run's steps and learning rates, ``at`` its constant features (e.g.
        ``{"params": 1.2e9}``). Returns the schedule's rows with their derived schedule features and
        ``prediction`` (and ``lower``, ``upper`` with ``interval``)."""
        frame = schedule if isinstance(schedule, pd.DataFrame) else read_table(schedule)[0]
        rows = planned_run(frame, self.dataset.get("curve"), dict(at or {}))
        pred = self.predict(rows, law=law, interval=interval)
        if isinstance(pred, pd.DataFrame):
            return pd.concat([rows, pred], axis=1)
        return rows.assign(prediction=pred)

    # ------------------------------------------------------------ json
    def to_dict(self) -> dict:
        return _clean({
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "discover", "version": _version()},
            "status": self.status,
            "dataset": self.dataset,
            "target": self.target,
            "features": list(self.features),
            "group": self.group,
            "log_space": self.log_space,
            "direction": self.direction,
            "split": self.split,
            "engines": self.engines,
            "options": self.options,
            "warnings": self.warnings,
            "timing": self.timing,
            "laws": [s.to_dict() for s in self.laws],
            "recommended": self.recommended,
            "pareto": self.pareto,
            "selection": self.selection,
        })

    def to_json(self, path) -> Path:
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_json(cls, path) -> "Result":
        path = Path(path)
        if path.is_dir():
            path = path / "results.json"
        if not path.exists():
            raise DataError(f"results file {str(path)!r} does not exist")
        return cls.from_dict(read_json(path, f"results file {path.name}"))

    @classmethod
    def from_dict(cls, data: Mapping) -> "Result":
        if not isinstance(data, Mapping) or not isinstance(data.get("laws"), list):
            raise DataError("results file has no 'laws' list; is it a discover results.json?")
        version = str(data.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise DataError(f"results file has schema version {version!r}; this discover reads {SCHEMA_VERSION}")
        laws = [Scored.from_dict(d, f"laws[{i}]") for i, d in enumerate(data["laws"])]
        features = [schema.text(v, f"features[{i}]")
                    for i, v in enumerate(schema.sequence(data.get("features") or [], "features"))]
        if not features:
            raise schema.fail("features", "must name at least one feature")
        return cls(
            laws=laws,
            recommended=schema.index(data.get("recommended"), "recommended", len(laws)),
            dataset=dict(schema.mapping(data.get("dataset") or {}, "dataset")),
            split=dict(schema.mapping(data.get("split") or {}, "split")),
            target=schema.text(data.get("target"), "target"),
            features=features,
            group=schema.text(data.get("group"), "group", optional=True),
            log_space=schema.flag(data.get("log_space"), "log_space", default=True),
            direction=_direction(data.get("direction", "minimize")),
            engines=list(schema.sequence(data.get("engines") or [], "engines")),
            warnings=[str(w) for w in schema.sequence(data.get("warnings") or [], "warnings")],
            options=dict(schema.mapping(data.get("options") or {}, "options")),
            pareto=list(schema.sequence(data.get("pareto") or [], "pareto")),
            selection=dict(schema.mapping(data.get("selection") or {}, "selection")),
            timing=dict(schema.mapping(data.get("timing") or {}, "timing")),
            status=schema.text(data.get("status", "complete"), "status"),
        )

    def plot(self, kind: str = "fit", data=None, **kw):
        """One of the report's figures as a matplotlib Figure: ``fit``, ``forecast``, ``residuals``,
        ``pareto`` or ``optimal`` (:func:`discover.report.plot`); ``data`` is the table of runs."""
        return VIEWS["plot"](self, kind, data, **kw)

    def _repr_html_(self) -> str:
        return VIEWS["html"](self)

    def __repr__(self) -> str:
        best = self.laws[self.recommended].law if self.recommended is not None else None
        sizes = (self.split or {}).get("sizes") or {}
        text = (f"Result: {len(self.laws)} laws on {self.dataset.get('name')} ({self.dataset.get('rows')} rows; "
                f"train {sizes.get('train')}, val {sizes.get('val')}, test {sizes.get('test')})")
        if best is None:
            return text + "; no law could be fitted"
        test = (self.laws[self.recommended].metrics.get("test") or {}).get("r2")
        return text + f"\n  recommended: {best.formula}" + (f"  (test R² {test:.4g})" if test is not None else "")


def _float(x):
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _columns_for(law: Law, frame: pd.DataFrame, features: Sequence[str]) -> dict:
    by_symbol = {symbol_name(c): c for c in frame.columns}
    out = {}
    for v in law.variables:
        col = by_symbol.get(v)
        if col is None:
            raise DataError(f"law {law.name} needs column {v!r}, which the table does not have")
        num = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(num)):
            raise DataError(f"column {col!r} has non-numeric, missing or infinite values")
        out[v] = num
    return out


def bootstrap_predictions(scored: Scored, X: Mapping, groups) -> np.ndarray | None:
    """Predictions under every bootstrap draw of the constants: array (draws, rows)."""
    s = scored.samples
    if not s:
        return None
    law = scored.law
    if not law.grouped:
        draws = [dict(zip(s, vals)) for vals in zip(*s.values())]
        return np.array([law.evaluate(X, d) for d in draws]) if draws else None
    groups = np.asarray(groups).astype(str)
    n = len(groups)
    lengths = [len(next(iter(s[g].values()))) for g in np.unique(groups) if g in s and s[g]]
    if not lengths or len(lengths) < len(np.unique(groups)):
        return None
    B = min(lengths)
    out = np.full((B, n), np.nan)
    for b in range(B):
        values = {c: np.full(n, np.nan) for c in law.params}
        for g in np.unique(groups):
            for c in law.params:
                values[c][groups == g] = s[g][c][b]
        out[b] = law.evaluate(X, values)
    return out


def read_json(path: Path, what: str):
    """The JSON document at ``path``; a file that is not JSON is a DataError naming ``what``."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{what} is not valid JSON: {err}") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise DataError(f"{what} holds a value that cannot be read: {str(err).splitlines()[0]}") from None


def write_json_atomic(path, obj) -> Path:
    """Write JSON to ``path`` via a temp file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=1, allow_nan=False)
    write_text_atomic(path, text)
    return path


def write_text_atomic(path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` via a temp file in the same directory, fsync and rename, so a
    killed process leaves either the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _version() -> str:
    return __version__
