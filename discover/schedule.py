"""Learning-rate schedule features of a curve table: what the loss at a step depends on.

A curve table holds evaluations of training runs (one row per run and step).
The loss at a step depends on the whole schedule so far, not only on the
tokens seen: a short run that has already annealed sits below a long one at
the same step. Schedule-aware laws therefore read summaries of the schedule,
derived here per run, in step order, integrated over *steps* (evaluations are
often sparse and irregular, so row counts mean nothing):

- ``lr_area`` -- S1, the forward area ``sum_{t<=s} lr_t`` (Tissue et al. 2024);
- ``lr_anneal`` -- S2, the annealing area with momentum: ``m_t = lam*m_{t-1} +
  (lr_{t-1} - lr_t)``, ``S2 = sum_{t<=s} m_t``, counted from the run's peak LR
  (a warmup is not an anneal); ``lam`` (``momentum``) is a documented constant,
  0.999 by default as in the paper;
- ``lr_drop`` -- the loss-drop shape of the multi-power law (Luo et al. 2025),
  ``sum_{k<=s} (lr_{k-1} - lr_k) * G(lr_k**-gamma * S_k(s))`` with
  ``G(x) = 1 - (C x + 1)**-beta`` and ``S_k(s)`` the area from step k to s;
  its shape constants are fixed at the values the paper reports across its model
  sizes (:data:`MPL_SHAPE`), its scale ``B`` is fitted by the law;
- ``steps_after_peak`` -- steps since the run's peak LR (0 before it);
- ``lr_frac`` -- the LR over the run's peak LR.

Between two evaluations the LR is interpolated linearly, step by step. Before
the first evaluation it rises linearly from 0 when the first two evaluations
show a warmup (the LR increasing), and is held at its first value otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .errors import DataError

DEFAULT_MOMENTUM = 0.999
#: The multi-power law's shape constants C, beta, gamma: the paper's fits at 25M, 100M and 400M parameters
#: agree to a few per cent (C 2.03-2.13, beta 0.58-0.60, gamma 0.64-0.66), so they are held at these values.
MPL_SHAPE = {"C": 2.0, "beta": 0.6, "gamma": 0.65}
#: Most steps integrated per run: a longer run is integrated on a coarser grid of this many points.
MAX_GRID = 2_000_000

FEATURES = {
    "lr_area": "S1: the forward area under the LR curve up to the step (sum of lr over steps)",
    "lr_anneal": "S2: the annealing area with momentum, accumulated LR decrease since the peak",
    "lr_drop": "the multi-power law's loss-drop shape (Luo et al. 2025), shape constants fixed",
    "steps_after_peak": "steps since the run's peak learning rate (0 before it)",
    "lr_frac": "learning rate over the run's peak learning rate",
}
#: The derived features that join a curve table's features unless the user names some of them.
DEFAULT_FEATURES = ("lr_area", "lr_anneal", "lr_drop")


@dataclass(frozen=True)
class CurveSpec:
    """Which columns make a curve table: the run, its step and (for schedule features) its LR."""

    run: str
    step: str
    lr: str | None = None
    momentum: float = DEFAULT_MOMENTUM

    def to_dict(self) -> dict:
        return {"run": self.run, "step": self.step, "lr": self.lr, "momentum": self.momentum,
                "mpl_shape": dict(MPL_SHAPE), "features": dict(FEATURES) if self.lr else {}}


def check_curves(frame: pd.DataFrame, spec: CurveSpec) -> None:
    """One-line errors for curve input that would give wrong features silently."""
    for col in (spec.run, spec.step, spec.lr):
        if col is not None and col not in frame.columns:
            raise DataError(f"curve column {col!r} is not in the table")
    if frame[spec.run].isna().any():
        raise DataError(f"run column {spec.run!r} has missing cells; every evaluation must name its run")
    step = pd.to_numeric(frame[spec.step], errors="coerce")
    if step.isna().any() or not np.all(np.isfinite(step)):
        i = int(np.flatnonzero(~np.isfinite(step.to_numpy(dtype=float, na_value=np.nan)))[0])
        raise DataError(f"step column {spec.step!r} has a missing or non-numeric value (row {i + 1})")
    if (step < 0).any():
        raise DataError(f"step column {spec.step!r} has negative steps (row {int(np.flatnonzero(step < 0)[0]) + 1})")
    frac = np.flatnonzero(step.to_numpy(dtype=float) % 1 != 0)
    if len(frac):
        raise DataError(f"step column {spec.step!r} has a fractional step ({step.iloc[frac[0]]:g}, row {frac[0] + 1}); "
                        f"it must count optimizer steps (whole numbers)")
    if spec.lr is not None:
        lr = pd.to_numeric(frame[spec.lr], errors="coerce")
        bad = ~np.isfinite(lr.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            raise DataError(f"learning-rate column {spec.lr!r} has a missing or non-numeric value "
                            f"(row {int(np.flatnonzero(bad)[0]) + 1})")
        if (lr < 0).any():
            raise DataError(f"learning-rate column {spec.lr!r} has a negative learning rate "
                            f"(row {int(np.flatnonzero(lr < 0)[0]) + 1})")
    runs = frame[spec.run].astype(str)
    for run, idx in runs.groupby(runs, sort=False).groups.items():
        s = step.loc[idx].to_numpy(dtype=float)
        if len(s) < 2:
            raise DataError(f"run {run!r} has only one evaluation; a curve needs at least two steps")
        d = np.diff(s)
        if np.any(d == 0):
            raise DataError(f"run {run!r} has step {s[1:][d == 0][0]:g} twice; each step of a run must appear once")
        if np.any(d < 0):
            raise DataError(f"run {run!r}: steps are not in increasing order (step {s[1:][d < 0][0]:g} "
                            f"after {s[:-1][d < 0][0]:g}); sort each run's rows by step")
        if spec.lr is not None and not np.any(lr.loc[idx].to_numpy(dtype=float) > 0):
            raise DataError(f"run {run!r} has a learning rate of 0 at every step")


def per_step(steps: np.ndarray, lrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The LR on a grid of steps ``1..max`` (or a coarser grid of equal strides), interpolated
    linearly between evaluations, with the warmup rule of the module docstring before the first."""
    last = float(steps[-1])
    stride = max(1.0, math.ceil(last / MAX_GRID))
    grid = np.arange(1, int(last // stride) + 1, dtype=float) * stride
    if len(grid) == 0 or grid[-1] < last:
        grid = np.append(grid, last)
    warmup = len(lrs) > 1 and lrs[1] > lrs[0] and steps[0] > 0
    head_lr = 0.0 if warmup else float(lrs[0])
    xs = np.concatenate([[0.0], steps]) if steps[0] > 0 else steps
    ys = np.concatenate([[head_lr], lrs]) if steps[0] > 0 else lrs
    return grid, np.interp(grid, xs, ys)


def run_features(steps: np.ndarray, lrs: np.ndarray, momentum: float = DEFAULT_MOMENTUM) -> dict[str, np.ndarray]:
    """The schedule features of one run at its evaluation ``steps`` (increasing optimizer steps).

    S2 uses the identity that the per-step recursion gives, ``S2(s) = (D(s) - lam*m(s)) / (1 - lam)``
    with ``D`` the LR's drop since the peak: exact at any grid, since ``m`` is carried across a
    coarse cell of ``k`` steps (each dropping the cell's drop / k) in closed form.
    """
    if not 0.0 <= momentum < 1.0:
        raise DataError(f"momentum must be in [0, 1), got {momentum!r}")
    steps = np.asarray(steps, dtype=float)
    lrs = np.asarray(lrs, dtype=float)
    grid, eta = per_step(steps, lrs)
    dt = np.diff(np.concatenate([[0.0], grid]))  # 1 per step; the last cell of a coarse grid may be shorter
    area = np.cumsum(eta * dt)
    peak = int(np.argmax(eta))
    drop = np.zeros_like(eta)
    drop[peak + 1:] = eta[peak:-1] - eta[peak + 1:]
    m = _momentum(drop, dt, momentum)
    anneal = (np.cumsum(drop) - momentum * m) / (1.0 - momentum)
    at = np.searchsorted(grid, steps).clip(0, len(grid) - 1)
    x0 = np.concatenate([[0.0], grid])  # at step 0 nothing has been trained: both areas 0

    def at_steps(values):
        return np.interp(steps, x0, np.concatenate([[0.0], values]))
    out = {
        "lr_area": at_steps(area),
        "lr_anneal": at_steps(anneal),
        "lr_drop": np.where(steps > 0, _mpl_drop(eta, dt, area, drop, peak, at), 0.0),
        "steps_after_peak": np.maximum(steps - grid[peak], 0.0),
        "lr_frac": lrs / float(np.max(eta)),
    }
    return out


def _momentum(drop: np.ndarray, dt: np.ndarray, lam: float) -> np.ndarray:
    """``m`` at the end of each grid cell of ``dt`` steps, each step of a cell dropping ``drop / dt``:
    ``m <- lam**dt * m + (drop / dt) * (1 - lam**dt) / (1 - lam)`` (on a unit grid, ``m <- lam*m + drop``)."""
    if np.all(dt == 1.0):
        return lfilter([1.0], [1.0, -lam], drop)
    decay = lam ** dt
    gain = (1.0 - decay) / (1.0 - lam) / dt
    k = float(dt[0])  # every cell but the last has the grid's stride
    m = lfilter([1.0], [1.0, -lam ** k], drop * gain[0])
    if len(dt) > 1 and dt[-1] != k:  # the shorter last cell
        m[-1] = decay[-1] * m[-2] + drop[-1] * gain[-1]
    return m


def _mpl_drop(eta, dt, area, drop, peak, at) -> np.ndarray:
    """sum over k <= s of (lr_{k-1} - lr_k) * G(lr_k^-gamma * S_k(s)), for each evaluation step s."""
    C, beta, gamma = MPL_SHAPE["C"], MPL_SHAPE["beta"], MPL_SHAPE["gamma"]
    ks = np.flatnonzero(drop[: at.max() + 1] != 0)
    out = np.zeros(len(at))
    if not len(ks):
        return out
    base = area - eta * dt  # area before step k: S_k(s) = area[s] - base[k]
    with np.errstate(divide="ignore"):
        scale = np.where(eta[ks] > 0, eta[ks] ** -gamma, np.inf)
    for i, s in enumerate(at):
        k = ks[ks <= s]
        if not len(k):
            continue
        with np.errstate(invalid="ignore"):  # a rate of 0 (scale inf) with no area since: a full drop, below
            x = scale[: len(k)] * (area[s] - base[k])
        g = np.where(np.isfinite(x), 1.0 - (C * x + 1.0) ** -beta, 1.0)
        out[i] = float(np.sum(drop[k] * g))
    return out


def add_schedule_features(frame: pd.DataFrame, spec: CurveSpec) -> pd.DataFrame:
    """A copy of ``frame`` with the schedule features of every run (needs ``spec.lr``)."""
    check_curves(frame, spec)
    out = frame.copy()
    clash = [c for c in FEATURES if c in frame.columns]
    if clash:
        raise DataError(f"column {clash[0]!r} is already in the table; it is the name of a derived schedule "
                        f"feature (rename the column)")
    cols = {c: np.zeros(len(frame)) for c in FEATURES}
    step = pd.to_numeric(frame[spec.step]).to_numpy(dtype=float)
    lr = pd.to_numeric(frame[spec.lr]).to_numpy(dtype=float)
    runs = frame[spec.run].astype(str).to_numpy()
    for run in pd.unique(runs):
        rows = np.flatnonzero(runs == run)
        feats = run_features(step[rows], lr[rows], spec.momentum)
        for c in FEATURES:
            cols[c][rows] = feats[c]
    for c in FEATURES:
        out[c] = cols[c]
    return out


__all__ = ["CurveSpec", "FEATURES", "DEFAULT_FEATURES", "DEFAULT_MOMENTUM", "MPL_SHAPE", "check_curves",
           "run_features", "add_schedule_features", "lr_schedule"]


def lr_schedule(steps, peak: float, kind: str = "constant", *, warmup: float = 1000.0, decay: float = 0.2,
                final: float = 0.1) -> np.ndarray:
    """A planned run's learning rate at ``steps``, to forecast it (:meth:`discover.Result.predict_schedule`):
    a linear warmup from 0 to ``peak`` over ``warmup`` steps, then ``constant``, or ``wsd``
    (warmup-stable-decay) a linear decay to ``final`` times the peak over the last ``decay`` share of
    the steps."""
    steps = np.asarray(steps, dtype=float)
    if kind not in ("constant", "wsd"):
        raise DataError(f"unknown schedule {kind!r}: use 'constant' or 'wsd'")
    lr = np.full_like(steps, float(peak))
    if kind == "wsd":
        start = (1.0 - decay) * steps.max()
        lr = np.where(steps > start, peak * (1 - (1 - final) * (steps - start) / (steps.max() - start)), peak)
    return np.where(steps < warmup, peak * steps / warmup, lr)


def planned_run(schedule: pd.DataFrame, curve: dict, at: dict | None = None) -> pd.DataFrame:
    """The rows of a planned run, ready for a law fitted on a curve table: ``schedule`` holds its
    steps and learning rates (columns named as in the fitted table, or ``step`` and ``lr``) and any
    other per-step column (tokens); ``at`` gives the run's constant features (its model size). The
    schedule features are derived exactly as for the fitted runs (``curve``: the results' record)."""
    if not isinstance(curve, dict) or not curve.get("lr"):
        raise DataError("these results were not fitted on a curve table with a learning rate (--curve, --step, "
                        "--lr), so a planned schedule cannot be forecast")
    frame = schedule.copy()
    for ours, plain in ((curve["step"], "step"), (curve["lr"], "lr")):
        if ours not in frame.columns:
            if plain not in frame.columns:
                raise DataError(f"the schedule needs a {plain!r} column (or {ours!r}, as in the fitted table)")
            frame = frame.rename(columns={plain: ours})
    spec = CurveSpec(run="_run", step=curve["step"], lr=curve["lr"],
                     momentum=float(curve.get("momentum", DEFAULT_MOMENTUM)))
    frame["_run"] = "planned"
    for col, value in (at or {}).items():
        if col in FEATURES:
            raise DataError(f"{col!r} is derived from the schedule; it cannot be set with --at")
        frame[col] = value
    out = add_schedule_features(frame, spec).drop(columns="_run")
    first = curve.get("min_step")
    if first is not None:
        out = out[out[curve["step"]] >= float(first)].reset_index(drop=True)
        if out.empty:
            raise DataError(f"the schedule ends before step {first:g}, the first step the law was fitted on")
    return out
