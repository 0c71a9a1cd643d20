"""One benchmark cell: a task × engine × seed × time budget, run and summarised.

A cell runs the same pipeline as ``discover run`` (:func:`discover.search.discover`:
engines on train and validation rows, catalog laws beside them, one refit
and ranking) and reduces the result to one summary row. Its directory,
``DIR/cells/<key>/``, holds ``results.json`` (the full run), ``leaderboard.csv``
and, written last and atomically, ``done.json`` (the row). A cell counts as
finished exactly when ``done.json`` exists, so a run killed at any point loses
no finished cell and never leaves a half-written one behind.

A cell that raised records an error row (``status: "error"``, the message,
and ``error.txt`` with the traceback); reruns skip it unless asked to retry.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import resource
import socket
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import canon
from ..errors import DataError
from ..formula import symbol_name
from ..options import TableSpec
from ..pipeline import fit, prepare
from ..result import write_json_atomic, write_text_atomic
from ..search import discover
from ..select import paired_excess, selection_residuals
from ..splits import TEST
from .suites import Task

DONE = "done.json"
RESULTS = "results.json"
OK = "ok"
ERROR = "error"
#: Statuses that a rerun repeats only with ``retry_failed``.
FAILED = ("error", "unavailable", "engine-failed", "crashed")


@dataclass
class Cell:
    """What to run: one task with one engine (or ``a+b`` for engines sharing a budget), seed and budget."""

    task: Task
    engine: str
    seed: int
    budget: float
    bootstrap: int = 0
    #: processes the cell's search may use (not part of the key: the runner sets it from how many
    #: cells run at once, so that cells running side by side do not oversubscribe the cores)
    search_workers: int = 1

    @property
    def engines(self) -> list[str]:
        return [e for e in self.engine.split("+") if e]

    @property
    def key(self) -> str:
        """Directory name: readable parts plus a hash of (task content, engine, seed, budget, bootstrap)."""
        h = hashlib.sha256(json.dumps([self.task.content_hash(), self.engine, int(self.seed), float(self.budget),
                                       int(self.bootstrap)]).encode()).hexdigest()[:12]
        return f"{_slug(self.task.name)}__{_slug(self.engine)}__s{self.seed}__b{self.budget:g}__{h}"

    def label(self) -> str:
        return f"{self.task.name} {self.engine} seed {self.seed}"

    def base_row(self) -> dict:
        return {"key": self.key, "task": self.task.name, "engine": self.engine, "seed": int(self.seed),
                "budget": float(self.budget), "noise": self.task.meta.get("noise"), "rows": self.task.n_rows}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "-", str(text)).strip("-")[:60] or "x"


# ------------------------------------------------------------------ running
def run_cell(cell: Cell, out_dir, *, rss_scope: str = "process") -> dict:
    """Run one cell, write ``DIR/cells/<key>/`` (results.json, then done.json) and return its row."""
    row, doc, board, tb = execute(cell, rss_scope=rss_scope)
    finish(cell_dir(out_dir, cell), row, doc, board, tb)
    return row


def cell_dir(out_dir, cell: Cell) -> Path:
    return Path(out_dir) / "cells" / cell.key


def finish(directory: Path, row: dict, doc: dict | None, board: str | None, tb: str | None = None) -> None:
    """Persist a cell: the results first, ``done.json`` last (each written atomically)."""
    directory.mkdir(parents=True, exist_ok=True)
    if doc is not None:
        write_json_atomic(directory / RESULTS, doc)
    if board is not None:
        write_text_atomic(directory / "leaderboard.csv", board)
    if tb:
        write_text_atomic(directory / "error.txt", tb)
    write_json_atomic(directory / DONE, row)


def read_done(out_dir, cell: Cell) -> dict | None:
    """The finished row of a cell, or None when it has not finished (or its done.json is unreadable)."""
    path = cell_dir(out_dir, cell) / DONE
    try:
        row = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) and "status" in row else None


def execute(cell: Cell, *, rss_scope: str = "process") -> tuple[dict, dict | None, str | None, str | None]:
    """Run the cell without writing anything: (row, results document, leaderboard CSV, traceback).

    This is what a remote (Dask) worker runs; the client writes the files.
    """
    task = cell.task
    row = cell.base_row()
    row.update(host=socket.gethostname(), pid=os.getpid())
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow in candidate fits: noise in a bench log
            res = discover(task.frame, target=task.target, features=task.features, group=task.group,
                           split=task.split, engines=cell.engines, time_budget=cell.budget, seed=cell.seed,
                           bootstrap=cell.bootstrap, name=task.name, workers=cell.search_workers,
                           **task.curve_options())
    except Exception as err:  # noqa: BLE001 - a cell that fails records why; the benchmark carries on
        row.update(status=ERROR, error=_one_line(err), wall_s=round(time.perf_counter() - t0, 3))
        row.update(_memory(rss_scope))
        return _jsonable(row), None, None, traceback.format_exc()
    wall = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row.update(summarize_result(res, task))
        row["published_r2"] = published_r2(task)
        doc = res.to_dict()
        doc["bench_residuals"] = residual_record(res, task)
    row.update(wall_s=round(wall, 3), **_memory(rss_scope))
    return _jsonable(row), doc, res.leaderboard.to_csv(index=False), None


def residual_record(res, task: Task) -> dict:
    """Every law's per-row residuals on the selection bands and on the test rows, so that other
    selection rules can be compared on a finished benchmark without refitting anything
    (results.json itself leaves the residuals out)."""
    names = [s.law.name for s in res.laws if s.ok]
    test = _test_residuals(res, task, names, strict=False) or {}
    def plain(values):  # JSON has no inf or nan: written as text (read back by select.paired_excess)
        return [float(v) if math.isfinite(float(v)) else str(float(v)) for v in values]

    return {s.law.name: {"select": {k: plain(r) for k, r in selection_residuals(s.metrics).items()},
                         "test": plain(test.get(s.law.name, []))}
            for s in res.laws if s.ok}


def summarize_result(res, task: Task) -> dict:
    """The summary row of a finished run: the recommended law, its test scores, the catalog's best."""
    out: dict = {}
    statuses = [e.get("status") for e in res.engines]
    failed = [w for w in res.warnings if str(w).startswith("engine ") and " failed:" in str(w)]
    if statuses and all(s == "unavailable" for s in statuses):
        out["status"] = "unavailable"
        out["error"] = "; ".join(e.get("reason", "") for e in res.engines)
    elif failed:
        out["status"] = "engine-failed"
        out["error"] = "; ".join(failed)
    else:
        out["status"] = OK
        out["error"] = ""
    out["n_laws"] = len(res.laws)
    out["n_tried"] = sum(int(e.get("n_tried") or 0) for e in res.engines)
    out["engine_s"] = round(sum(float(e.get("wall_s") or 0) for e in res.engines), 3)
    catalog = [s for s in res.laws if s.ok and str(s.law.provenance).startswith("catalog")]
    cat_r2 = [(_metric(s, "test", "r2"), s.law.name) for s in catalog]
    cat_r2 = [(r, n) for r, n in cat_r2 if math.isfinite(r)]
    best_cat = max(cat_r2) if cat_r2 else (math.nan, None)
    out["catalog_r2"], out["catalog_law"] = best_cat
    if res.recommended is None:
        out.update(test_r2=math.nan, test_rmse_log=math.nan, test_rmse=math.nan, law=None, formula=None,
                   provenance=None, complexity=None, n_constants=None, beat_catalog=None, recovered=None)
        if out["status"] == OK:
            out["status"], out["error"] = ERROR, "no law could be fitted"
        return out
    rec = res.best_scored
    out["test_r2"] = _metric(rec, "test", "r2")
    out["test_rmse_log"] = _metric(rec, "test", "rmse_log")
    out["test_rmse"] = _metric(rec, "test", "rmse")
    out["val_r2"] = _metric(rec, "val", "r2")
    out["law"] = rec.law.name
    out["formula"] = rec.law.formula
    out["provenance"] = rec.law.provenance
    out["complexity"] = int(rec.law.complexity)
    out["n_constants"] = int(rec.law.n_constants)
    out["beat_catalog"] = (bool(out["test_r2"] > best_cat[0])
                           if math.isfinite(out["test_r2"]) and math.isfinite(best_cat[0]) else None)
    out["recovered"] = recovered(task, rec.law) if task.truth is not None else None
    out.update(truth_standing(res, task))
    out.update(versus_catalog(res, task))
    return out


def versus_catalog(res, task: Task) -> dict:
    """The recommended law against the catalog law the same rule picks among the catalog laws
    (``selection.catalog_default``) and against the oracle (the run's best law on test, reported,
    never used), on the test rows.

    ``regret``: the recommended law's test error over the oracle's (RMSE of log y for a positive
    target, else RMSE); ``vs_catalog_ratio``: its test error over the catalog pick's;
    ``vs_catalog_z``: the paired excess squared test error of the recommended law over the catalog
    pick, in standard errors (positive: the recommended law is worse), and ``vs_catalog_p`` its
    one-sided p-value; ``loses_to_catalog``: worse by more than 10 % or significantly (p < 0.05).
    """
    out = dict(catalog_pick=None, catalog_pick_test=math.nan, oracle_law=None, oracle_test=math.nan,
               regret=math.nan, vs_catalog_ratio=math.nan, vs_catalog_z=math.nan, vs_catalog_p=math.nan,
               loses_to_catalog=None, selection_rule=(res.selection or {}).get("rule"))
    if res.recommended is None:
        return out
    key = "rmse_log" if res.log_space else "rmse"
    errors = {s.law.name: _metric(s, "test", key) for s in res.laws if s.ok}
    finite = {n: e for n, e in errors.items() if math.isfinite(e)}
    rec = res.best_scored.law.name
    if finite:
        out["oracle_law"] = min(finite, key=finite.get)
        out["oracle_test"] = finite[out["oracle_law"]]
        if out["oracle_test"] > 0 and rec in finite:
            out["regret"] = finite[rec] / out["oracle_test"]
    pick = (res.selection or {}).get("catalog_default")
    if pick is None or pick not in errors:
        return out
    out["catalog_pick"], out["catalog_pick_test"] = pick, errors[pick]
    if rec == pick:
        out.update(vs_catalog_ratio=1.0, vs_catalog_z=0.0, vs_catalog_p=0.5, loses_to_catalog=False)
        return out
    resid = _test_residuals(res, task, [rec, pick])
    if resid is None or not (math.isfinite(errors[rec]) and errors[pick] > 0):
        return out
    d = resid[rec] ** 2 - resid[pick] ** 2
    se = float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
    z = float(np.mean(d) / se) if se and se > 0 else (0.0 if np.mean(d) == 0 else math.copysign(math.inf, np.mean(d)))
    p = float(0.5 * math.erfc(z / math.sqrt(2))) if math.isfinite(z) else (0.0 if z > 0 else 1.0)
    ratio = errors[rec] / errors[pick]
    out.update(vs_catalog_ratio=ratio, vs_catalog_z=z, vs_catalog_p=p, loses_to_catalog=bool(ratio > 1.1 or p < 0.05))
    return out


def _test_residuals(res, task: Task, names, strict: bool = True) -> dict | None:
    """Each named law's residuals on the task's test rows (log space for a positive target); None
    when one is not finite (``strict``), else that law's are kept as they are."""
    try:
        table = TableSpec(target=task.target, features=task.features, group=task.group, split=task.split,
                          val_frac=float(res.options.get("val_frac", 0.15)), **task.curve_options())
        ds, sp = prepare(task.frame, table, seed=int(res.options.get("seed", 0)))
    except DataError:
        return None
    test = sp.rows(TEST)
    frame = ds.frame.iloc[test]
    y = ds.y[test]
    out = {}
    for n in names:
        pred = np.asarray(res.predict(frame, law=n), float)
        with np.errstate(all="ignore"):
            out[n] = np.log(pred) - np.log(y) if res.log_space else pred - y
        if strict and not np.all(np.isfinite(out[n])):
            return None
    return out


def truth_standing(res, task: Task) -> dict:
    """Where the true form stands among all of a run's candidates: tells a search miss from a selection miss.

    ``truth_found``: some candidate (an engine's or the catalog's) has the true form
    (:func:`recovered`); ``truth_found_engine``: an engine proposed one, so the search found it
    without the catalog's help; ``truth_val_rank``: the place of the best such candidate by the
    selection error (1 = lowest); ``truth_val_z``: its paired excess squared error over the law
    lowest on the selection bands, in standard errors (:func:`discover.select.paired_excess`).
    Above :data:`discover.select.Z`, the validation rows speak against the true form, and a
    rule that chooses among the laws within noise of the best cannot choose it (the shipped
    rule's parsimony bar, :data:`discover.select.Z_PARSIMONY`, is tighter still). All None
    when the task has no known law.
    """
    out = dict(truth_found=None, truth_found_engine=None, truth_val_rank=None, truth_val_z=None)
    if task.truth is None:
        return out
    laws = [s for s in res.laws if s.ok]  # in the run's ranking: selection error (else BIC), lowest first
    first = first_engine = None
    for i, s in enumerate(laws):
        if first_engine is not None:
            break
        by_catalog = str(s.law.provenance).startswith("catalog")
        if first is not None and by_catalog:
            continue  # once the form is placed, only an engine's candidate tells something new
        if recovered(task, s.law):
            first = i if first is None else first
            first_engine = None if by_catalog else i
    out.update(truth_found=first is not None, truth_found_engine=first_engine is not None)
    if first is None:
        return out
    z = 0.0
    if first > 0:
        excess, se = paired_excess(selection_residuals(laws[first].metrics), selection_residuals(laws[0].metrics))
        z = None if not math.isfinite(excess) else (excess / se if se > 0 else (math.inf if excess > 0 else 0.0))
    out.update(truth_val_rank=first + 1, truth_val_z=z)
    return out


def recovered(task: Task, law) -> bool | None:
    """Is the recommended law's form the true one? (:func:`discover.canon.equivalent` on every row of the task)."""
    if law.grouped:
        return False
    X = {symbol_name(c): task.frame[c].to_numpy(dtype=float) for c in task.features}
    try:
        return bool(canon.equivalent(task.truth, law, X))
    except Exception:  # noqa: BLE001 - an equivalence check that cannot run is "not shown"
        return None


def published_r2(task: Task) -> float:
    """Best test R² of the catalog laws that apply, with their published constants (no refit); NaN if none."""
    try:
        res = fit(task.frame, target=task.target, features=task.features, group=task.group, split=task.split,
                  published=True, bootstrap=0, name=task.name, **task.curve_options())
    except DataError:
        return math.nan
    except Exception:  # noqa: BLE001 - a side column must never fail the cell
        return math.nan
    vals = [_metric(s, "test", "r2") for s in res.laws if s.ok]
    vals = [v for v in vals if math.isfinite(v)]
    return max(vals) if vals else math.nan


def _metric(scored, split: str, key: str) -> float:
    v = (scored.metrics.get(split) or {}).get(key)
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _memory(scope: str) -> dict:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
    return {"peak_rss_mb": round(mb, 1), "rss_scope": scope}


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}"[:500]


def _jsonable(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, (np.bool_,)):
            v = bool(v)
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, (float, np.floating)):
            v = float(v)
            if not math.isfinite(v):
                v = None
        out[k] = v
    return out


def error_row(cell: Cell, message: str, status: str = ERROR) -> dict:
    """The row of a cell that did not run to the end (its worker died, Dask gave up, ...)."""
    return _jsonable({**cell.base_row(), "status": status, "error": message})
