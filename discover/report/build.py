"""Everything a report shows, computed once for both writers (HTML and Markdown).

The table of runs is not part of results.json. When it is given (a path or a
DataFrame) the split is replayed from the recorded rule, seed and validation
fraction so that each run is coloured train / val / test as in the fit; when it
is not, the report draws what needs no data (Pareto front, forecast along the
compute-optimal frontier) and says what is missing.

One module, though long: both writers read one :class:`Report`, and every
figure is built from the same replayed table and split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import datasets
from ..errors import DataError
from ..optimal import compute_optimal, setup
from ..options import TableSpec, curve_settings
from ..pipeline import prepare
from ..result import Result, Scored
from ..roles import match_role
from ..select import selection_error
from ..ui import fmt
from . import figures as F

TOP_CURVES = 3
MAX_GROUP_CURVES = 5
CURVE_POINTS = 80
EXTEND = 10.0  # curves run this factor past the largest run
COMPUTE_COLUMNS = ("flops", "compute", "train_flops", "training_flops", "FLOPs", "C")


@dataclass
class Figure:
    name: str  # file stem, e.g. "observed_vs_predicted"
    title: str
    caption: str
    figure: Any  # the matplotlib Figure

    @cached_property
    def png(self) -> bytes:
        return F.figure_png(self.figure)

    def close(self) -> None:
        F.close(self.figure)


@dataclass
class Report:
    result: Result
    frame: pd.DataFrame | None = None
    labels: np.ndarray | None = None  # train/val/test per row of frame
    data_source: str = ""
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    optimal: dict | None = None
    scale_label: str | None = None


# --------------------------------------------------------------------------- data
def _bundled_candidate(result: Result):
    name = str(result.dataset.get("name") or "")
    path = result.dataset.get("path")
    if path and Path(str(path)).is_file():
        return str(path), f"the table at {path}"
    try:
        if name in datasets.names():
            return datasets.load(name), f"bundled dataset {name!r}"
    except DataError:
        pass
    return None, ""


def attach_data(rep: Report, data) -> None:
    """Load the table and replay the split; on any problem leave a note and carry on without data."""
    res = rep.result
    auto = data is None
    source = ""
    if auto:
        data, source = _bundled_candidate(res)
        if data is None:
            rep.notes.append("the table of runs was not given and its location is unknown, so figures that need "
                             "observed values are left out (pass --table PATH to `discover report`)")
            return
    elif isinstance(data, pd.DataFrame):
        source = "the table passed in"
    else:
        source = str(data)
    ds_info, opts = res.dataset, res.options
    try:
        table = TableSpec(target=res.target, features=res.features, group=res.group, weight=ds_info.get("weight"),
                          split=res.split.get("rule"), derive=ds_info.get("derived") or {},
                          val_frac=float(opts.get("val_frac", 0.15) or 0.15), **curve_settings(ds_info))
        ds, sp = prepare(data, table, seed=int(opts.get("seed", 0) or 0))
    except DataError as err:
        rep.notes.append(f"could not use {source} for the figures: {err}")
        return
    want = ds_info.get("hash")
    if want and ds.hash() != want:
        if auto:
            rep.notes.append(f"{source} differs from the table that was fitted (hash {ds.hash()} vs {want}); "
                             "figures that need observed values are left out")
            return
        rep.notes.append(f"{source} differs from the table that was fitted (hash {ds.hash()} vs {want}); "
                         "observed values are drawn from the table given")
    rep.frame = ds.frame.reset_index(drop=True)
    rep.labels = np.asarray(sp.labels).astype(str)
    rep.data_source = source


# --------------------------------------------------------------------------- helpers
def top_laws(res: Result, n: int) -> list[Scored]:
    ok = [s for s in res.laws if s.ok and s.law.constants is not None]
    out = []
    if res.recommended is not None and res.laws[res.recommended] in ok:
        out.append(res.laws[res.recommended])
    for s in ok:
        if len(out) >= n:
            break
        if s not in out:
            out.append(s)
    return out


def _role_columns(features) -> tuple[str | None, str | None]:
    n = d = None
    for f in features:
        r = match_role(f)
        if r == "N" and n is None:
            n = f
        elif r == "D" and d is None:
            d = f
    return n, d


def scale_of(frame: pd.DataFrame, res: Result, k: float = 6.0) -> tuple[np.ndarray, str, str | None] | None:
    """(values, label, column or None) of the main scale variable: compute if known, else the split's scale
    column, else the first positive feature."""
    def positive(col):
        if col not in frame.columns:
            return None
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        return v if np.all(np.isfinite(v)) and np.all(v > 0) else None

    for c in COMPUTE_COLUMNS:
        v = positive(c)
        if v is not None:
            return v, f"{c} (training compute)", c
    n, d = _role_columns(res.features)
    if n and d:
        vn, vd = positive(n), positive(d)
        if vn is not None and vd is not None:
            return k * vn * vd, f"compute {k:g}·{n}·{d} (FLOPs)", None
    sc = res.split.get("scale")
    if isinstance(sc, str):
        v = positive(sc)
        if v is not None:
            return v, sc, sc
    for f in res.features:
        v = positive(f)
        if v is not None and np.ptp(np.log(v)) > 0:
            return v, f, f
    return None


def _path(frame: pd.DataFrame, scale: np.ndarray, scale_col: str | None, features, s_new: np.ndarray) -> pd.DataFrame:
    """Feature values along a path through the data: each feature's log-linear trend against log scale."""
    ls = np.log(scale)
    out = {}
    for f in features:
        if f == scale_col:
            out[f] = s_new
            continue
        v = pd.to_numeric(frame[f], errors="coerce").to_numpy(dtype=float)
        if np.ptp(ls) == 0:
            out[f] = np.full(len(s_new), np.nanmedian(v))
        elif np.all(v > 0):
            b, a = np.polyfit(ls, np.log(v), 1)
            out[f] = np.exp(a + b * np.log(s_new))
        else:
            b, a = np.polyfit(ls, v, 1)
            out[f] = a + b * np.log(s_new)
    if scale_col and scale_col not in out:
        out[scale_col] = s_new
    return pd.DataFrame(out)


def _curve(res: Result, s: Scored, frame: pd.DataFrame, x: np.ndarray, name: str, level: float) -> dict | None:
    try:
        if s.samples:
            t = res.predict(frame, law=s.law.name, interval=level)
            c = {"name": name, "x": x, "y": t["prediction"].to_numpy(), "lower": t["lower"].to_numpy(),
                 "upper": t["upper"].to_numpy(), "level": level}
        else:
            c = {"name": name, "x": x, "y": np.asarray(res.predict(frame, law=s.law.name))}
    except DataError:
        return None
    if not np.any(np.isfinite(c["y"])):
        return None
    return c


def selection_errors(res: Result) -> tuple[list[float | None], str]:
    has_val = any((s.metrics.get("select") or {}).get("n") for s in res.laws)
    out = []
    for s in res.laws:
        if not s.ok:
            out.append(None)
        elif has_val:
            out.append(selection_error(s.metrics, res.log_space))
        else:
            out.append(s.bic if math.isfinite(s.bic) else None)
    err = "RMSE of log" if res.log_space else "RMSE"
    rule = (res.selection or {}).get("rule") or "held-out rows"
    label = f"held-out {err} (selection error, on {rule})" if has_val else "BIC (no validation rows)"
    return out, label


# --------------------------------------------------------------------------- figures
#: The figures a report draws, by the name ``Result.plot(kind)`` calls them.
KINDS = {"fit": "observed_vs_predicted", "forecast": "forecast", "residuals": "residuals", "pareto": "pareto",
         "optimal": "optimal_frontier", "curves": "learning_curves"}
MAX_RUN_CURVES = 12  # runs drawn in the learning-curve figure (every test run, then the largest others)


def make_figures(rep: Report, level: float = 0.95, kinds=tuple(KINDS)) -> None:
    res = rep.result
    tops = top_laws(res, TOP_CURVES)
    best = tops[0] if tops else None
    sc = None
    if rep.frame is not None:
        sc = scale_of(rep.frame, res)
        if sc is not None:
            rep.scale_label = sc[1]
    # 1. observed vs predicted
    if "fit" in kinds and rep.frame is not None and best is not None:
        _try(rep, "observed vs predicted", lambda: _obs_pred(rep, best))
    # 1b. a curve table: every run's observed curve and the law along it
    if "curves" in kinds and rep.frame is not None and best is not None and res.dataset.get("curve"):
        _try(rep, "learning curves", lambda: _learning_curves(rep, best))
    # 2. target against scale with curves through and past the data
    if "forecast" not in kinds:
        pass
    elif rep.frame is not None and sc is not None and tops:
        _try(rep, "forecast", lambda: _scale_fig(rep, tops, sc, level))
    elif tops:
        _try(rep, "forecast", lambda: _frontier_forecast(rep, tops, level))
    # 3. residuals against scale
    if "residuals" in kinds and rep.frame is not None and sc is not None and best is not None:
        _try(rep, "residuals", lambda: _residuals(rep, best, sc))
    # 4. Pareto front
    if "pareto" in kinds:
        _try(rep, "Pareto front", lambda: _pareto(rep))
    # 5. compute-optimal frontier of the recommended law
    if "optimal" in kinds and best is not None:
        _try(rep, "compute-optimal allocation", lambda: _optimal(rep, best, sc, level))


def _try(rep: Report, what: str, fn) -> None:
    try:
        fn()
    except DataError as err:
        rep.notes.append(f"{what} figure left out: {err}")
    except Exception as err:  # noqa: BLE001 - one failed figure must not lose the report
        rep.notes.append(f"{what} figure left out: {type(err).__name__}: {err}")


def _obs_pred(rep: Report, best: Scored) -> None:
    res = rep.result
    y = pd.to_numeric(rep.frame[res.target], errors="coerce").to_numpy(dtype=float)
    pred = np.asarray(res.predict(rep.frame, law=best.law.name), dtype=float)
    fig = F.observed_vs_predicted_figure(y, pred, rep.labels, best.law.name, res.target, res.log_space)
    if fig is not None:
        rep.figures.append(Figure("observed_vs_predicted", "Observed vs predicted",
                                  f"Every run, coloured by split, against the prediction of the recommended law "
                                  f"{best.law.name} (constants from the final fit on train + validation rows).",
                                  fig))


def _learning_curves(rep: Report, best: Scored) -> None:
    res = rep.result
    curve = res.dataset["curve"]
    frame = rep.frame
    y = pd.to_numeric(frame[res.target], errors="coerce").to_numpy(dtype=float)
    pred = np.asarray(res.predict(frame, law=best.law.name), dtype=float)
    steps = frame[curve["step"]].to_numpy(dtype=float)
    runs = frame[curve["run"]].astype(str).to_numpy()
    curves = []
    for run in pd.unique(runs):
        m = runs == run
        order = np.argsort(steps[m])
        curves.append({"run": run, "step": steps[m][order], "y": y[m][order], "pred": pred[m][order],
                       "labels": rep.labels[m][order]})
    # every held-out run, then the longest of the others, up to MAX_RUN_CURVES
    curves.sort(key=lambda c: (not np.any(c["labels"] == "test"), -float(c["step"].max())))
    shown = curves[:MAX_RUN_CURVES]
    fig = F.curves_figure(shown, best.law.name, curve["step"], res.target, res.log_space)
    if fig is not None:
        left = f" ({len(curves) - len(shown)} more runs not drawn)" if len(curves) > len(shown) else ""
        rep.figures.append(Figure("learning_curves", "Learning curves",
                                  f"Observed evaluations of each run (points, coloured by split) and the recommended "
                                  f"law {best.law.name} along the run's own schedule (black: runs with held-out "
                                  f"points){left}.", fig))


def _scale_fig(rep: Report, tops: list[Scored], sc, level: float) -> None:
    res = rep.result
    scale, label, col = sc
    frame = rep.frame
    y = pd.to_numeric(frame[res.target], errors="coerce").to_numpy(dtype=float)
    s_new = np.geomspace(scale.min(), scale.max() * EXTEND, CURVE_POINTS)
    curves = []
    grouped = [s for s in tops if s.law.grouped]
    if grouped:
        best = tops[0]
        gcol = res.group or best.law.group
        labels = list(pd.unique(frame[gcol].astype(str)))[:MAX_GROUP_CURVES]
        for g in labels:
            m = frame[gcol].astype(str).to_numpy() == g
            if m.sum() < 2:
                continue
            sub_scale = scale[m]
            s_g = np.geomspace(sub_scale.min(), sub_scale.max() * EXTEND, CURVE_POINTS)
            path = _path(frame[m], sub_scale, col, res.features, s_g)
            path[gcol] = g
            c = _curve(res, best, path, _x_of(path, res, s_g, col), f"{best.law.name} [{g}]", level)
            if c:
                curves.append(c)
        title = f"{res.target} against scale; {best.law.name} per group, {EXTEND:g}× past the largest run"
    else:
        path = _path(frame, scale, col, res.features, s_new)
        x = _x_of(path, res, s_new, col)
        for s in tops:
            c = _curve(res, s, path, x, s.law.name, level)
            if c:
                curves.append(c)
        title = f"{res.target} against scale: top laws along the data's trend, {EXTEND:g}× past the largest run"
    fig = F.scale_figure(scale, y, rep.labels, curves, label, res.target, res.log_space, title)
    if fig is not None:
        has_band = any(c.get("lower") is not None for c in curves)
        cap = ("Observed runs against the main scale variable. Each law is drawn along a path through the data "
               "(every feature follows its log-linear trend against scale) and continued past the largest run; "
               + (f"shaded: {int(level * 100)} % bootstrap band of the prediction." if has_band
                  else "no bootstrap draws, so no bands."))
        rep.figures.append(Figure("forecast", "Forecast against scale", cap, fig))


def _x_of(path: pd.DataFrame, res: Result, s_new: np.ndarray, col: str | None) -> np.ndarray:
    if col is None:  # compute = 6·N·D: recompute from the path itself
        n, d = _role_columns(res.features)
        if n in path and d in path:
            return 6.0 * path[n].to_numpy() * path[d].to_numpy()
    return s_new


def _reference_compute(rep: Report, law: Scored) -> float | None:
    """A compute budget to anchor forecasts when no data is given: the largest test run's, else None."""

    for s in [law] + list(rep.result.laws):
        fc = s.forecast or {}
        row = fc.get("row") if isinstance(fc, dict) else None
        if not row:
            continue
        try:
            st = setup(s.law, rep.result.features)
        except DataError:
            continue
        if st.n_var in row and st.d_var in row:
            return 6.0 * float(row[st.n_var]) * float(row[st.d_var])
    return None


def _frontier_forecast(rep: Report, tops: list[Scored], level: float) -> None:

    res = rep.result
    anchor = _reference_compute(rep, tops[0])
    if anchor is None:
        rep.notes.append("forecast figure left out: no table and no recorded forecast point to anchor the scale")
        return
    curves = []
    for s in tops:
        try:
            opt = compute_optimal(res, anchor, law=s.law.name, span=1000.0, n_budgets=15, interval=level)
        except DataError:
            continue
        fr = opt.frontier
        c = {"name": s.law.name, "x": np.asarray(fr["flops"]), "y": np.asarray(fr[opt.target])}
        band = fr.get(opt.target + "_band")
        if band is not None:
            c.update(lower=np.asarray(band[0]), upper=np.asarray(band[1]), level=level)
        curves.append(c)
    if not curves:
        rep.notes.append("forecast figure left out: no table given, and the top laws have no N and D variables "
                         "to follow the compute-optimal frontier")
        return
    fig = F.scale_figure(None, None, None, curves, "compute C = 6·N·D (FLOPs)", res.target, res.log_space,
                         f"predicted {res.target} along each law's compute-optimal frontier (no table given)")
    rep.figures.append(Figure("forecast", "Forecast along the compute-optimal frontier",
                              "Without the table of runs, each law is drawn at its own compute-optimal N and D "
                              "over six decades of compute around the largest test run; shaded: bootstrap band.",
                              fig))


def _residuals(rep: Report, best: Scored, sc) -> None:
    res = rep.result
    scale, label, _ = sc
    y = pd.to_numeric(rep.frame[res.target], errors="coerce").to_numpy(dtype=float)
    pred = np.asarray(res.predict(rep.frame, law=best.law.name), dtype=float)
    with np.errstate(all="ignore"):
        if res.log_space:
            resid, what = np.log(pred) - np.log(y), f"log(predicted / observed {res.target})"
        else:
            resid, what = pred - y, f"predicted − observed {res.target}"
    fig = F.residual_figure(scale, resid, rep.labels, best.law.name, label, what)
    if fig is not None:
        rep.figures.append(Figure("residuals", "Residuals against scale",
                                  f"Residuals of the recommended law {best.law.name}: a trend at the largest scales "
                                  "means the law bends away from the runs it must extrapolate to.",
                                  fig))


def _pareto(rep: Report) -> None:
    res = rep.result
    errs, label = selection_errors(res)
    front = set(res.pareto or [])
    pts = [{"name": s.law.name, "complexity": s.law.complexity, "error": e, "front": i in front,
            "recommended": i == res.recommended, "rank": i + 1} for i, (s, e) in enumerate(zip(res.laws, errs))]
    fig = F.pareto_figure(pts, label)
    if fig is not None:
        rep.figures.append(Figure("pareto", "Pareto front",
                                  "Selection error against expression complexity for every law that fitted; the "
                                  "front holds the laws no other law beats on both; the star is the recommended law.",
                                  fig))


def _optimal(rep: Report, best: Scored, sc, level: float) -> None:

    res = rep.result
    if best.law.grouped:
        return
    try:
        setup(best.law, res.features)
    except DataError:
        return  # no N and D: nothing to allocate, not worth a note
    if sc is not None and (sc[2] is None or sc[2] in COMPUTE_COLUMNS):
        budget = 10.0 * float(np.max(sc[0]))
        why = "10× the largest run's compute"
    else:
        anchor = _reference_compute(rep, best)
        if anchor is None:
            return
        budget, why = 10.0 * anchor, "10× the compute of the largest test run"
    opt = compute_optimal(res, budget, law=best.law.name, interval=level)
    rep.optimal = {**opt.to_dict(), "budget_reason": why}
    fig = F.optimum_figure(opt)
    rep.figures.append(Figure("optimal_frontier", "Compute-optimal frontier",
                              f"Compute-optimal {opt.columns['N']} and {opt.columns['D']} of the recommended law "
                              f"from C/100 to 100·C around C = {budget:.3g} FLOPs ({why}); "
                              "shaded: bootstrap band.", fig))


def build_report(result: Result, data=None, *, level: float = 0.95, kinds=tuple(KINDS)) -> Report:
    rep = Report(result)
    attach_data(rep, data)
    make_figures(rep, level=level, kinds=kinds)
    return rep


def plot(result: Result, kind: str = "fit", data=None, *, level: float = 0.95):
    """One of the report's figures as a matplotlib Figure: ``fit`` (observed against predicted),
    ``forecast`` (the target against scale, the laws continued past the data, bootstrap bands),
    ``residuals``, ``pareto`` (selection error against complexity), ``optimal`` (the compute-optimal
    frontier) or ``curves`` (a curve table's runs, observed and along the law). ``data`` is the table
    of runs (``fit``, ``forecast``, ``residuals`` and ``curves`` need it)."""
    if kind not in KINDS:
        raise DataError(f"unknown plot kind {kind!r} (one of: {', '.join(KINDS)})")
    rep = build_report(result, data, level=level, kinds=(kind,))
    fig = next((f.figure for f in rep.figures if f.name == KINDS[kind]), None)
    if fig is None:
        why = "; ".join(rep.notes) or "it needs what these results do not hold"
        raise DataError(f"no {kind} figure: {why}")
    return fig


def optimal_value(optimal: dict, key: str) -> str:
    """A compute-optimal quantity with its bootstrap interval, e.g. ``7.2e+10 [6.3e+10, 8.1e+10]``."""
    iv = (optimal.get("intervals") or {}).get(key)
    return fmt(optimal[key]) + (f" [{fmt(iv[0])}, {fmt(iv[1])}]" if iv else "")


def constants_rows(s: Scored) -> list[tuple[str, str]]:
    """(name, 'value [lo, hi]') per constant; per-group laws give one row per group (first few)."""
    law = s.law
    if law.constants is None:
        return []
    iv = s.intervals or {}
    if not law.grouped:
        out = []
        for k, v in law.constants.items():
            text = fmt(v, 5)
            if isinstance(iv.get(k), (list, tuple)) and len(iv[k]) == 2:
                text += f" [{fmt(iv[k][0], 3)}, {fmt(iv[k][1], 3)}]"
            out.append((k, text))
        return out
    out = []
    groups = list(law.constants)
    for g in groups[:4]:
        giv = iv.get(g) if isinstance(iv.get(g), dict) else {}
        parts = []
        for k, v in law.constants[g].items():
            t = f"{k}={fmt(v, 4)}"
            if isinstance(giv.get(k), (list, tuple)) and len(giv[k]) == 2:
                t += f" [{fmt(giv[k][0], 3)}, {fmt(giv[k][1], 3)}]"
            parts.append(t)
        out.append((f"group {g}", ", ".join(parts)))
    if len(groups) > 4:
        out.append(("…", f"{len(groups) - 4} more groups in results.json"))
    return out
