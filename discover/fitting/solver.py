"""The numeric fitter: one law, one block of rows, robust and multi-start.

Why this shape: published and discovered laws must be compared on equal terms,
so every candidate goes through this one procedure.

1. *Variable projection* (stage 1). Constants that enter the formula linearly
   (E, A, B in ``E + A/N**a + B/D**b``) are solved exactly by bounded linear
   least squares for each trial of the nonlinear ones (exponents), on relative
   residuals ``(pred - y)/y`` (the first-order form of log residuals). This
   makes the search a low-dimensional problem and removes most local minima.
2. *Multi-start*: stage 1 runs from a grid of initial nonlinear constants;
   the best few distinct solutions go to stage 3.
3. *Robust polish* (stage 3): all constants jointly, Huber loss on log residuals
   ``log(pred) - log(y)`` when the target is positive (raw residuals otherwise),
   bounded trust-region least squares.

Also here, because single and grouped fits both ask them of a solution: whether
it is complete, which constants sit at a bound and which the rows cannot
identify.

It stays one module because the fitter's stages share one state (the compiled
law, the rows, the bounds in their internal scale) and are only correct together.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from ..law import Law
from .compile import Compiled, bcast

MAX_STARTS = 64
SUBSAMPLE_ROWS = 20_000  # above this, starts are screened and refined on a subsample (polish uses all rows)
REFINE_TOP = 4
POLISH_TOP = 2


@dataclass(frozen=True)
class Effort:
    """How one fit searches: its seed, the size of its start grid, extra starts (published
    constants, an engine's solution), a warm solution to polish instead of searching, the
    cheaper ``quick`` mode of selection fits, the number of bootstrap refits, and the monotonic
    time by which the bootstrap must end (the draws done by then are kept)."""

    seed: int = 0
    max_starts: int = MAX_STARTS
    starts: tuple = ()
    quick: bool = False
    warm: Mapping | None = None
    bootstrap: int = 0
    bootstrap_until: float | None = None


@dataclass
class FitResult:
    """Outcome of fitting one law: the law with constants, and how the fit went."""

    law: Law
    converged: bool
    objective: float
    message: str = ""
    at_bounds: list[str] = field(default_factory=list)
    intervals: dict | None = None
    samples: dict | None = None  # bootstrap draws: name -> list (or group -> name -> list)
    n_starts: int = 0



# --------------------------------------------------------------------------- residuals
def safe_log(p: np.ndarray, floor: float) -> np.ndarray:
    """log(p), continued linearly below ``floor`` so non-positive predictions get a
    large but finite, sloped residual instead of NaN (the optimizer can climb out)."""
    p = np.where(np.isfinite(p), p, -1e300)
    out = np.empty_like(p)
    ok = p > floor
    out[ok] = np.log(p[ok])
    out[~ok] = math.log(floor) + (p[~ok] - floor) / floor
    return np.maximum(out, -1e6)


class Rows:
    """Rows of one fit: variable columns, target, weights, group codes, residual space."""

    def __init__(self, cols, y, w, log_space: bool, groups: np.ndarray | None):
        self.cols = cols
        self.y = y
        self.sw = np.sqrt(w)
        self.log_space = log_space
        self.n = len(y)
        if log_space:
            self.logy = np.log(y)
            self.floor = float(np.min(y)) * 1e-6
            self.rel = 1.0 / y
        else:
            scale = float(np.mean(np.abs(y - np.mean(y)))) or float(np.mean(np.abs(y))) or 1.0
            self.scale = scale
            self.rel = np.full(self.n, 1.0 / scale)
        self.groups = groups
        # rows that are not independent draws (the evaluations of one training run): a bootstrap
        # resamples whole clusters, so that its intervals do not count one curve's points as many runs
        self.clusters: np.ndarray | None = None

    def subset(self, idx: np.ndarray) -> "Rows":
        d = Rows([c[idx] for c in self.cols], self.y[idx], self.sw[idx] ** 2, self.log_space,
                  None if self.groups is None else self.groups[idx])
        d.clusters = None if self.clusters is None else self.clusters[idx]
        return d

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The row indices of one bootstrap draw: rows with replacement, or whole clusters when the
        rows have them (each drawn cluster brings all its rows)."""
        if self.clusters is None:
            return rng.integers(0, self.n, self.n)
        labels, codes = np.unique(self.clusters, return_inverse=True)
        members = [np.flatnonzero(codes == k) for k in range(len(labels))]
        return np.concatenate([members[k] for k in rng.integers(0, len(labels), len(labels))])

    def residual_jac(self, pred: np.ndarray, dpred: np.ndarray) -> np.ndarray:
        """d residual / d constants, given d pred / d constants (rows × constants)."""
        if self.log_space:
            denom = np.where(np.isfinite(pred) & (pred > self.floor), pred, self.floor)
            J = dpred / denom[:, None]
        else:
            J = dpred * self.rel[:, None]
        return J * self.sw[:, None]

    def residual(self, pred: np.ndarray) -> np.ndarray:
        if self.log_space:
            r = safe_log(pred, self.floor) - self.logy
        else:
            r = (np.where(np.isfinite(pred), pred, 1e300) - self.y) * self.rel
            r = np.clip(r, -1e6, 1e6)
        return self.sw * r


# --------------------------------------------------------------------------- single fit
class Fitter:
    """Fits one compiled law on one block of rows (one group, or all)."""

    def __init__(self, comp: Compiled, data: Rows, delta: float):
        self.c = comp
        self.d = data
        self.delta = delta
        law = comp.law
        self.params = law.params
        self.names = list(law.params)
        self.nl = comp.nonlinear
        self.lin = comp.linear
        self.lin_lb = np.array([law.params[n].lower for n in self.lin])
        self.lin_ub = np.array([law.params[n].upper for n in self.lin])

    # -- transforms for nonlinear constants searched in log space
    def to_internal(self, name: str, v: float) -> float:
        return math.log(max(v, 1e-300)) if self.params[name].log_scale else v

    def from_internal(self, name: str, v: float) -> float:
        return math.exp(min(v, 700.0)) if self.params[name].log_scale else v

    def bounds_internal(self, names):
        lo, hi = [], []
        for n in names:
            p = self.params[n]
            if p.log_scale:
                lo.append(math.log(p.lower) if p.lower > 0 else -700.0)
                hi.append(math.log(p.upper) if math.isfinite(p.upper) else 700.0)
            else:
                lo.append(p.lower)
                hi.append(p.upper)
        return np.array(lo), np.array(hi)

    # -- stage 1: variable projection
    def pieces(self, theta_ext: np.ndarray):
        with np.errstate(all="ignore"):
            out = self.c.basis(*self.d.cols, *[np.float64(t) for t in theta_ext])
        return [bcast(p, self.d.n) for p in out]

    def solve_linear(self, theta_ext: np.ndarray):
        pieces = self.pieces(theta_ext)
        f0 = pieces[0]
        if not self.lin:
            return np.zeros(0), f0
        F = np.column_stack(pieces[1:])
        if not (np.all(np.isfinite(F)) and np.all(np.isfinite(f0))):
            return None, None
        wrow = self.d.sw * self.d.rel
        A = F * wrow[:, None]
        b = (self.d.y - f0) * wrow
        # column scaling keeps the linear solve well conditioned across magnitudes
        norms = np.linalg.norm(A, axis=0)
        norms[norms == 0] = 1.0
        As = A / norms
        lb, ub = self.lin_lb * norms, self.lin_ub * norms
        try:
            coef = np.linalg.lstsq(As, b, rcond=None)[0]
            if np.any(coef < lb) or np.any(coef > ub):
                coef = lsq_linear(As, b, bounds=(lb, ub), method="bvls").x
        except (np.linalg.LinAlgError, ValueError):
            return None, None
        coef = coef / norms
        return coef, f0 + F @ coef

    def varpro_residual(self, theta_int: np.ndarray) -> np.ndarray:
        theta_ext = [self.from_internal(n, v) for n, v in zip(self.nl, theta_int)]
        coef, pred = self.solve_linear(np.array(theta_ext))
        if pred is None:
            return np.full(self.d.n, 1e3)
        r = (pred - self.d.y) * self.d.rel * self.d.sw
        r = np.where(np.isfinite(r), r, 1e3)
        return np.clip(r, -1e3, 1e3)

    def stage1(self, start: Mapping[str, float]):
        """Returns (cost, full constant dict) after VarPro from ``start``."""
        x0 = np.array([self.to_internal(n, start[n]) for n in self.nl])
        if self.nl:
            lo, hi = self.bounds_internal(self.nl)
            x0 = np.clip(x0, lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo)) if np.all(np.isfinite(hi - lo)) else np.clip(x0, lo, hi)
            try:
                res = least_squares(self.varpro_residual, x0, bounds=(lo, hi), method="trf",
                                    x_scale="jac", max_nfev=100 + 30 * len(x0), ftol=1e-8, xtol=1e-8)
                x = res.x
            except (ValueError, np.linalg.LinAlgError):
                x = x0
        else:
            x = x0
        theta = {n: self.from_internal(n, v) for n, v in zip(self.nl, x)}
        coef, pred = self.solve_linear(np.array([theta[n] for n in self.nl]))
        if coef is None:
            return math.inf, None
        values = dict(theta)
        values.update({n: float(c) for n, c in zip(self.lin, coef)})
        return self.objective(values), values

    # -- stage 3: robust polish of all constants
    def predict(self, values: Mapping[str, float]) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = self.c.full(*self.d.cols, *[np.float64(values[n]) for n in self.names])
        return bcast(out, self.d.n)

    def objective(self, values: Mapping[str, float]) -> float:
        r = self.d.residual(self.predict(values))
        return huber_cost(r, self.delta)

    def polish(self, values: Mapping[str, float], fast: bool = False):
        """Robust fit of all constants from ``values``. ``fast`` (bootstrap refits, which start
        at the solution of a nearby problem) stops at a looser tolerance."""
        x0 = np.array([self.to_internal(n, values[n]) for n in self.names])
        lo, hi = self.bounds_internal(self.names)
        x0 = np.clip(x0, lo, hi)

        def resid(x):
            vals = {n: self.from_internal(n, v) for n, v in zip(self.names, x)}
            return self.d.residual(self.predict(vals))

        jac = "2-point"
        if self.c.grad is not None:
            logs = np.array([self.params[n].log_scale for n in self.names])

            def jac(x):
                vals = [np.float64(self.from_internal(n, v)) for n, v in zip(self.names, x)]
                with np.errstate(all="ignore"):
                    pred = bcast(self.c.full(*self.d.cols, *vals), self.d.n)
                    cols = [bcast(g, self.d.n) for g in self.c.grad(*self.d.cols, *vals)]
                D = np.column_stack(cols) if cols else np.zeros((self.d.n, 0))
                if logs.any():
                    D = D * np.where(logs, np.array(vals), 1.0)[None, :]
                J = self.d.residual_jac(pred, D)
                return np.where(np.isfinite(J), J, 0.0)

        try:
            res = least_squares(resid, x0, jac=jac, bounds=(lo, hi), method="trf", loss="huber",
                                f_scale=self.delta, x_scale="jac", max_nfev=(20 if fast else 100) * (len(x0) + 1),
                                ftol=1e-6 if fast else 1e-9, xtol=1e-6 if fast else 1e-9, gtol=1e-9)
        except (ValueError, np.linalg.LinAlgError) as err:
            return self.objective(values), dict(values), False, f"polish failed: {err}"
        vals = {n: self.from_internal(n, v) for n, v in zip(self.names, res.x)}
        cost = self.objective(vals)
        start_cost = self.objective(values)
        if not cost <= start_cost:
            return start_cost, dict(values), bool(np.isfinite(start_cost)), "polish did not improve"
        return cost, vals, bool(res.status > 0 and np.isfinite(cost)), res.message

    def starts(self, seed: int, max_starts: int, extra: Sequence[Mapping[str, float]] = ()):
        grids = [tuple(dict.fromkeys(self.params[n].starts() + self._scale_starts(n))) for n in self.nl]
        combos = list(itertools.product(*grids)) if grids else [()]
        if len(combos) > max_starts:
            rng = np.random.default_rng(seed)
            idx = np.sort(rng.choice(len(combos), size=max_starts, replace=False))
            combos = [combos[i] for i in idx]
        out = [dict(zip(self.nl, c)) for c in combos]
        for e in extra:
            if all(n in e for n in self.nl):
                out.insert(0, {n: float(e[n]) for n in self.nl})
        return out

    def _scale_starts(self, name: str) -> tuple[float, ...]:
        """Starts at the 10th, 50th and 90th percentile of the variable a scale constant divides
        or offsets (see :func:`scale_constants`), clipped into its bounds."""
        j = (self.c.scales or {}).get(name)
        if j is None:
            return ()
        col = np.asarray(self.d.cols[j], dtype=float)
        col = col[np.isfinite(col) & (col > 0)]
        if not len(col):
            return ()
        p = self.params[name]
        out = [float(min(max(q, p.lower), p.upper)) for q in np.quantile(col, [0.1, 0.5, 0.9])]
        return tuple(v for v in out if v > 0 or not p.log_scale)

    def run(self, seed: int = 0, max_starts: int = MAX_STARTS, extra_starts=(), refine_top: int = None):
        refine_top = REFINE_TOP if refine_top is None else refine_top
        polish_top = POLISH_TOP if refine_top >= REFINE_TOP else 1
        candidates = []
        starts = self.starts(seed, max_starts, extra_starts)
        # Many rows: the grid is screened and refined on a fixed random subsample, which only has to
        # rank basins; the robust polish below always runs on every row.
        explore = self if self.d.n <= SUBSAMPLE_ROWS else Fitter(
            self.c, self.d.subset(np.sort(np.random.default_rng(seed).choice(self.d.n, SUBSAMPLE_ROWS, replace=False))),
            self.delta)
        if len(starts) > refine_top and self.nl:
            # Screen the grid with one projected-residual evaluation per start, refine the best few.
            def screen(st):
                x = np.array([explore.to_internal(n, st[n]) for n in explore.nl])
                return float(np.sum(explore.varpro_residual(x) ** 2))
            starts = sorted(starts, key=screen)[:refine_top]
        for s in starts:
            _, values = explore.stage1(s)
            cost = self.objective(values) if values is not None else math.inf
            if values is not None and np.isfinite(cost):
                candidates.append((cost, values))
        for e in extra_starts:  # full published/previous solutions go straight to polish
            if all(n in e for n in self.names):
                vals = {n: float(e[n]) for n in self.names}
                candidates.append((self.objective(vals), vals))
        if not candidates:
            return math.inf, None, False, "no start gave a finite fit", len(starts)
        candidates.sort(key=lambda t: t[0])
        picked = []
        for cost, values in candidates:
            if all(not close(values, v) for _, v in picked):
                picked.append((cost, values))
            if len(picked) >= polish_top:
                break
        best = (math.inf, None, False, "")
        for _, values in picked:
            cost, vals, ok, msg = self.polish(values)
            if cost < best[0]:
                best = (cost, vals, ok, msg)
        return (*best, len(starts))


def close(a: Mapping[str, float], b: Mapping[str, float], rtol: float = 1e-3) -> bool:
    return all(abs(a[k] - b[k]) <= rtol * (abs(a[k]) + abs(b[k]) + 1e-12) for k in a)


LOG_DELTA = 1e-3  # on log residuals: Epoch's choice for the Chinchilla refit
RAW_DELTA = 1.0  # on raw residuals, in units of the target's mean absolute deviation


def default_delta(log_space: bool) -> float:
    """Huber delta when none is given.

    On log residuals 1e-3 (a 0.1 % error), as in Epoch's Chinchilla refit. Raw
    residuals (targets that can be negative) are measured in units of the
    target's spread, where a quasi-L1 delta throws away too much information
    for extrapolation (Tao's vocabulary law: test R² 0.948 at 1e-3 against
    0.968 at 1.0 on SLDBench's vocab table); 1.0 still caps gross outliers.
    """
    return LOG_DELTA if log_space else RAW_DELTA


def huber_cost(r: np.ndarray, delta: float) -> float:
    a = np.abs(r)
    out = np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))
    total = float(np.sum(out))
    return total if np.isfinite(total) else math.inf




def complete(values, law: Law) -> bool:
    """True when ``values`` is a finite value for every constant of ``law``."""
    if not isinstance(values, Mapping):
        return False
    try:
        return all(math.isfinite(float(values[n])) for n in law.params)
    except (KeyError, TypeError, ValueError):
        return False


def unidentifiable(fitter: "Fitter", values: Mapping[str, float], tol: float = 1e-10) -> list[str]:
    """Constants the rows cannot pin down: the analytic Jacobian of the residuals at the
    solution (columns scaled to unit norm) is rank-deficient. Exact redundancy (A*B, a*b,
    a saturated tanh) gives a singular-value ratio ~1e-16; merely ill-conditioned but
    identifiable laws stay above ~1e-5. Without an analytic gradient, no verdict ([])."""
    names = fitter.names
    if not names or fitter.c.grad is None:
        return []
    vals = [np.float64(values[n]) for n in names]
    with np.errstate(all="ignore"):
        pred = bcast(fitter.c.full(*fitter.d.cols, *vals), fitter.d.n)
        D = np.column_stack([bcast(g, fitter.d.n) for g in fitter.c.grad(*fitter.d.cols, *vals)])
        logs = np.array([fitter.params[n].log_scale for n in names])
        if logs.any():
            D = D * np.where(logs, np.array(vals), 1.0)[None, :]
        J = fitter.d.residual_jac(pred, D)
    if not np.all(np.isfinite(J)):
        return []
    norms = np.linalg.norm(J, axis=0)
    dead = [n for n, v in zip(names, norms) if v == 0]
    if dead or len(names) == 1:
        return dead
    try:
        _, s, vt = np.linalg.svd(J / norms, full_matrices=False)
    except np.linalg.LinAlgError:
        return []
    if s[-1] >= tol * s[0]:
        return []
    return [n for n, c in zip(names, vt[-1]) if abs(c) > 0.1]


def at_bounds(law: Law, values: Mapping[str, float]) -> list[str]:
    out = []
    for n, p in law.params.items():
        v = values[n]
        for b in (p.lower, p.upper):
            if math.isfinite(b) and abs(v - b) <= 1e-6 * max(1.0, abs(b)):
                out.append(n)
    return out

