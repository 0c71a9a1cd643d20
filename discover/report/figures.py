"""Matplotlib figures of a result, made without pyplot (no backend, no global state: the same
figures are written into a report and shown in a notebook).

Each ``*_figure`` function returns a matplotlib Figure, or ``None`` when it has
nothing to draw; :func:`png_bytes` turns a figure into PNG bytes and
:func:`save_png_atomic` writes one to disk through a temp file and a rename.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as _MatplotlibFigure
from matplotlib.ticker import FuncFormatter

from ..errors import DataError
from ..result import write_bytes_atomic

SPLIT_COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:red", "data": "tab:gray"}
LAW_COLOURS = ("tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive")
DPI = 100
MAX_LINES = 8  # groups drawn in one figure


class Figure(_MatplotlibFigure):
    """A matplotlib Figure that shows itself as a PNG in a notebook even when pyplot's inline
    backend was never switched on (these figures are made without pyplot)."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (the figure stays open)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def close(fig) -> None:
    """Let go of a figure's memory (figures made here are in no pyplot registry)."""
    fig.clear()


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes, and closed."""
    data = figure_png(fig)
    close(fig)
    return data


def save_png_atomic(fig, path) -> Path:
    return write_bytes_atomic(path, png_bytes(fig))


def _legend(ax, **kw):
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, **kw)


def _short(name: str, n: int = 40) -> str:
    return name if len(name) <= n else name[: n - 3] + "..."


def _plain_log_ticks(axis):
    """Log axis spanning less than a decade: label ticks as plain numbers (2.5, 3), not 10^x."""
    lo, hi = axis.get_view_interval()
    if lo > 0 and hi / lo < 30:
        f = FuncFormatter(lambda v, _: f"{v:g}")
        axis.set_major_formatter(f)
        axis.set_minor_formatter(f)


# --------------------------------------------------------------------------- figures
def observed_vs_predicted_figure(y: np.ndarray, pred: np.ndarray, labels: np.ndarray, law_name: str,
                                 target: str, log: bool):
    ok = np.isfinite(y) & np.isfinite(pred)
    if log:
        ok &= (y > 0) & (pred > 0)
    if not ok.any():
        return None
    fig = Figure(figsize=(5.6, 5.0))
    ax = fig.subplots()
    for lab in ("train", "val", "test", "data"):
        m = ok & (labels == lab)
        if m.any():
            ax.scatter(y[m], pred[m], s=18, alpha=0.8, color=SPLIT_COLOURS[lab], label=f"{lab} ({int(m.sum())})",
                       edgecolors="none")
    lo = float(min(y[ok].min(), pred[ok].min()))
    hi = float(max(y[ok].max(), pred[ok].max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--", label="y = x")
    if log and hi / lo > 10:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"observed {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title(f"observed vs predicted: {_short(law_name)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax)
    fig.tight_layout()
    return fig


def scale_figure(scale: np.ndarray | None, y: np.ndarray | None, labels: np.ndarray | None, curves: Sequence[dict],
                 scale_label: str, target: str, log_y: bool, title: str):
    """Observed target against the scale variable, and law curves with optional bands.

    ``curves``: dicts with ``name``, ``x``, ``y`` and optionally ``lower``/``upper``.
    """
    if not curves and (scale is None or y is None):
        return None
    fig = Figure(figsize=(7.2, 4.8))
    ax = fig.subplots()
    if scale is not None and y is not None:
        labs = labels if labels is not None else np.array(["data"] * len(y))
        for lab in ("train", "val", "test", "data"):
            m = labs == lab
            if m.any():
                ax.scatter(scale[m], y[m], s=14, alpha=0.75, color=SPLIT_COLOURS[lab], edgecolors="none",
                           label=f"{lab} runs", zorder=3)
        xmax = float(np.nanmax(scale))
        ax.axvline(xmax, color="grey", lw=0.8, ls=":", zorder=1)
    banded = None
    for i, c in enumerate(curves):
        colour = LAW_COLOURS[i % len(LAW_COLOURS)]
        x = np.asarray(c["x"], dtype=float)
        ax.plot(x, c["y"], color=colour, lw=1.8, label=_short(c["name"]), zorder=4)
        if c.get("lower") is not None and c.get("upper") is not None:
            ax.fill_between(x, c["lower"], c["upper"], color=colour, alpha=0.18, lw=0, zorder=2)
            banded = c.get("level", 0.95)
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel(scale_label)
    ax.set_ylabel(target + (f" (shaded: {int(round(banded * 100))} % bootstrap band)" if banded else ""))
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax, loc="best")
    fig.tight_layout()
    return fig


def residual_figure(scale: np.ndarray, resid: np.ndarray, labels: np.ndarray, law_name: str, scale_label: str,
                    what: str):
    ok = np.isfinite(scale) & np.isfinite(resid) & (scale > 0)
    if not ok.any():
        return None
    fig = Figure(figsize=(7.2, 3.8))
    ax = fig.subplots()
    for lab in ("train", "val", "test", "data"):
        m = ok & (labels == lab)
        if m.any():
            ax.scatter(scale[m], resid[m], s=14, alpha=0.8, color=SPLIT_COLOURS[lab], edgecolors="none", label=lab)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(scale_label)
    ax.set_ylabel(what)
    ax.set_title(f"residuals against scale: {_short(law_name)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax)
    fig.tight_layout()
    return fig


def pareto_figure(points: Sequence[dict], error_label: str):
    """``points``: dicts with ``name``, ``complexity``, ``error``, ``front`` (bool), ``recommended`` (bool)."""
    pts = [p for p in points if p["error"] is not None and math.isfinite(p["error"])]
    if not pts:
        return None
    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.subplots()
    cx = np.array([p["complexity"] for p in pts], dtype=float)
    err = np.array([p["error"] for p in pts], dtype=float)
    front = np.array([p["front"] for p in pts], dtype=bool)
    ax.scatter(cx[~front], err[~front], s=16, color="tab:gray", alpha=0.6, label="candidate laws", edgecolors="none")
    if front.any():
        order = np.argsort(cx[front])
        ax.step(cx[front][order], err[front][order], where="post", color="tab:blue", lw=1.0, alpha=0.7)
        ax.scatter(cx[front], err[front], s=28, color="tab:blue", label="Pareto front", zorder=3)
        on_front = [p for p in pts if p["front"]]
        for p in on_front:
            # few points: names; many: leaderboard ranks (names would overlap)
            text = _short(p["name"], 28) if len(on_front) <= 4 else f"#{p.get('rank', '?')}"
            ax.annotate(text, (p["complexity"], p["error"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    rec = [p for p in pts if p["recommended"]]
    if rec:
        ax.scatter([rec[0]["complexity"]], [rec[0]["error"]], s=140, marker="*", color="gold", edgecolors="black",
                   zorder=4, label="recommended")
    if np.all(err > 0) and err.max() / max(err.min(), 1e-300) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("complexity (expression nodes)")
    ax.set_ylabel(error_label)
    ax.set_title("selection error against complexity" + ("" if front.sum() <= 4 else " (labels: leaderboard rank)"),
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax)
    fig.tight_layout()
    return fig


def frontier_figure(frontier: dict, n_col: str, d_col: str, exponents: dict, law_name: str, k: float,
                    mark: tuple | None = None):
    C = np.asarray(frontier["flops"], dtype=float)
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    for col, colour in ((n_col, "tab:blue"), (d_col, "tab:orange")):
        ax.plot(C, frontier[col], color=colour, label=f"{col}* ∝ C^{exponents[col]:.3f}")
        band = frontier.get(col + "_band")
        if band is not None:
            ax.fill_between(C, band[0], band[1], color=colour, alpha=0.2, lw=0)
    if mark is not None:
        c, n, d = mark
        ax.plot([c], [n], "o", color="tab:blue")
        ax.plot([c], [d], "o", color="tab:orange")
        ax.axvline(c, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"compute C = {k:g}·{n_col}·{d_col} (FLOPs)")
    ax.set_ylabel("compute-optimal value")
    ax.set_title(f"compute-optimal frontier: {_short(law_name)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax)
    fig.tight_layout()
    return fig


def law_figure(law, data, target: str | None = None, x: str | None = None):
    """One fitted law on a table: its prediction for every row against ``x`` (its first variable by
    default), and the observed ``target`` beside it when given (per group for a grouped law)."""
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    x = x or law.variables[0]
    if x not in frame:
        raise DataError(f"the table has no column {x!r} to draw law {law.name} against")
    X = {v: np.asarray(frame[v], float) for v in law.variables if v in frame}
    groups = np.asarray(frame[law.group]).astype(str) if law.grouped and law.group in frame else None
    pred = np.asarray(law.predict(X, groups=groups), float)
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    xs = np.asarray(frame[x], float)
    labels = np.unique(groups) if groups is not None else [None]
    for i, g in enumerate(labels[:MAX_LINES]):
        m = np.ones(len(xs), bool) if g is None else groups == g
        order = np.argsort(xs[m])
        colour = LAW_COLOURS[i % len(LAW_COLOURS)]
        ax.plot(xs[m][order], pred[m][order], "-" if len(law.variables) == 1 else ".", color=colour,
                label=f"{_short(law.name)}" + (f" [{g}]" if g is not None else ""))
        if target is not None and target in frame:
            ax.plot(xs[m], np.asarray(frame[target], float)[m], "o", ms=4, mfc="none", color=colour)
    if np.all(xs > 0):
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(target or "prediction")
    ax.set_title(_short(law.formula, 70), fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax)
    fig.tight_layout()
    return fig


def optimum_figure(opt):
    """The frontier figure of a :class:`discover.optimal.Optimum`, its budget marked."""
    return frontier_figure(opt.frontier, opt.columns["N"], opt.columns["D"], opt.exponents,
                           opt.law + (f" (group {opt.group})" if opt.group else ""), opt.k,
                           mark=(opt.flops, opt.n, opt.d))


__all__ = ["png_bytes", "save_png_atomic", "write_bytes_atomic", "observed_vs_predicted_figure", "scale_figure",
           "residual_figure", "pareto_figure", "frontier_figure", "optimum_figure"]


def curves_figure(curves: Sequence[dict], law_name: str, step_label: str, target: str, log_y: bool):
    """Observed learning curves (points, coloured by the split of the run's rows) and the law's
    prediction along each run (a line). ``curves``: dicts with ``run``, ``step``, ``y``, ``pred``,
    ``labels`` (train/val/test per point). Test runs come first, so that they are always drawn."""
    if not curves:
        return None
    fig = Figure(figsize=(7.6, 5.0))
    ax = fig.subplots()
    seen = set()
    for c in curves:
        step, y, pred, labs = (np.asarray(c[k]) for k in ("step", "y", "pred", "labels"))
        for lab in ("train", "val", "test"):
            m = labs == lab
            if m.any():
                ax.scatter(step[m], y[m], s=6, alpha=0.55, color=SPLIT_COLOURS[lab], edgecolors="none",
                           label=None if lab in seen else f"{lab} points", zorder=3)
                seen.add(lab)
        ok = np.isfinite(pred)
        held = bool(np.any(labs == "test"))
        ax.plot(step[ok], pred[ok], color="black" if held else "dimgray", lw=1.3 if held else 0.8,
                ls="-" if held else "--", zorder=4, label=None if "law" in seen else _short(law_name))
        seen.add("law")
        if held and ok.any():
            ax.annotate(str(c["run"]), (step[ok][-1], pred[ok][-1]), fontsize=7, xytext=(3, 0),
                        textcoords="offset points", va="center")
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel(step_label)
    ax.set_ylabel(target)
    ax.set_title(f"learning curves and the law along each run: {_short(law_name)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    _legend(ax, loc="best")
    fig.tight_layout()
    return fig


def schedule_forecast_figure(step: np.ndarray, lr: np.ndarray, pred: np.ndarray, lower, upper, law_name: str,
                             target: str, level: float | None, others: Sequence[dict] = ()):
    """A planned run's predicted curve (with its bootstrap band) above its learning-rate schedule;
    ``others``: more forecasts to compare (dicts with ``name``, ``step``, ``lr``, ``pred``)."""
    fig = Figure(figsize=(7.2, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(step, pred, color="tab:green", lw=1.8, label="planned schedule")
    if lower is not None and upper is not None:
        top.fill_between(step, lower, upper, color="tab:green", alpha=0.2, lw=0,
                         label=f"{int(round((level or 0.95) * 100))} % bootstrap band")
    bottom.plot(step, lr, color="tab:green", lw=1.2)
    for i, o in enumerate(others):
        colour = LAW_COLOURS[(i + 1) % len(LAW_COLOURS)]
        top.plot(o["step"], o["pred"], color=colour, lw=1.2, ls="--", label=o["name"])
        bottom.plot(o["step"], o["lr"], color=colour, lw=1.0, ls="--")
    top.set_ylabel(f"predicted {target}")
    top.set_title(f"forecast of a planned schedule: {_short(law_name)}", fontsize=10)
    top.grid(True, alpha=0.25)
    _legend(top, loc="best")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step")
    bottom.grid(True, alpha=0.25)
    fig.tight_layout()
    return fig
