"""Per-group fits: one form over several groups, constants per group, some optionally shared.

Why a module of its own: the single-block fitter (:mod:`discover.fit`) is the
procedure; this is how it is applied to groups. Each group is fitted on its own
(multi-start, or a polish from a warm start), later groups starting also from
their neighbours' solutions since groups share a form; constants named in
``shared`` are then fitted jointly over all groups (a block Jacobian), or by
variable projection when every other constant enters linearly. Bootstrap draws
resample rows within each group.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from .errors import DataError
from .fit import (FitResult, _at_bounds, _bcast, _complete, _Compiled, _Data, _Fitter, _interval, _resample,
                  compile_law, huber_cost)
from .law import Law


def fit_grouped(law: Law, comp: _Compiled, cols, y, w, groups, *, shared: Sequence[str], delta: float,
                log_space: bool, seed: int, max_starts: int, starts: Sequence[Mapping[str, float]], quick: bool,
                warm: Mapping | None, bootstrap: int, group_name: str | None) -> FitResult:
    """:func:`discover.fit.fit_law` for rows with group labels (see the module docstring)."""
    groups = np.asarray(groups).astype(str)
    labels = list(dict.fromkeys(groups.tolist()))
    blocks = {}
    for g in labels:
        idx = np.flatnonzero(groups == g)
        blocks[g] = _Data([c[idx] for c in cols], y[idx], w[idx], log_space, None)
    values, ok_all, cost_all, msgs, ns_all = {}, True, 0.0, [], 0
    previous: list[dict] = []
    if shared:
        # No per-group multi-start when the joint fit has a start: a warm solution, or the
        # projected one (variable projection over the shared constants)
        joint = _JointFitter(comp, blocks, shared, delta)
        init = warm if warm is not None and all(_complete(warm.get(g), law) for g in blocks) else None
        if init is None:
            start = next((st for st in starts if all(n in st for n in shared)), None)
            init = joint.project(start) if (start is not None and joint.projectable) else None
        if init is not None:
            cost_all, values, ok_all, msg = joint.run(init)
            result = _grouped_result(law, values, ok_all, cost_all, [] if ok_all else [str(msg)], 1, group_name,
                                     shared)
            if bootstrap:
                _bootstrap_joint(result, comp, blocks, shared, delta, bootstrap, seed)
            return result
    for g, d in blocks.items():
        if d.n < law.n_constants and not shared:
            raise DataError(f"group {g!r} has {d.n} training rows, fewer than the {law.n_constants} constants of law {law.name}")
        fitter = _Fitter(comp if not shared else compile_law(law), d, delta)
        near = None if (warm is None or shared) else warm.get(g)
        warm_start = _complete(near, law)
        if warm_start:
            cost, vals, ok, msg = fitter.polish(near)
            ns = 1
        else:
            # Groups share a form, so the last groups' solutions are good starts: later groups
            # screen the same grid but refine fewer starts.
            cost, vals, ok, msg, ns = fitter.run(seed, max_starts, [*starts, *previous[-2:]],
                                                 refine_top=2 if (previous or quick) else None)
        if (warm_start or previous or quick) and not _usable(fitter, vals):
            # the short route failed this group (a warm start that overflows on rows it was not
            # fitted on, a curve unlike the last ones): the full multi-start before giving up,
            # or one bad group out of many would sink the whole law
            retry = fitter.run(seed, max_starts, [*starts, *previous[-2:]], refine_top=None)
            if _usable(fitter, retry[1]) or vals is None:
                cost, vals, ok, msg, n2 = retry
                ns += n2
        if vals is not None:
            previous.append(vals)
        if vals is None:
            return FitResult(law, False, math.inf, f"group {g}: {msg}")
        values[g], ok_all, cost_all, ns_all = vals, ok_all and ok, cost_all + cost, ns_all + ns
        if not ok:
            msgs.append(f"group {g}: {msg}")
    if shared:
        joint = _JointFitter(comp, blocks, shared, delta)
        cost_all, values, ok_all, msg = joint.run(values)
        msgs = [] if ok_all else [str(msg)]
    result = _grouped_result(law, values, ok_all, cost_all, msgs, ns_all, group_name, shared)
    if bootstrap and not shared:
        _bootstrap_groups(result, comp, blocks, delta, bootstrap, seed)
    elif bootstrap:
        _bootstrap_joint(result, comp, blocks, shared, delta, bootstrap, seed)
    return result


class _JointFitter:
    """One form over several groups with some constants shared (fitted jointly)."""

    def __init__(self, comp: _Compiled, blocks: dict, shared: Sequence[str], delta: float):
        self.comp = comp
        self.blocks = blocks  # group -> _Data
        self.shared = list(shared)
        self.local = [n for n in comp.law.params if n not in shared]
        self.delta = delta
        self.fitters = {g: _Fitter(comp, d, delta) for g, d in blocks.items()}

    def unpack(self, x):
        k = len(self.shared)
        shared = dict(zip(self.shared, x[:k]))
        out = {}
        for i, g in enumerate(self.blocks):
            loc = x[k + i * len(self.local): k + (i + 1) * len(self.local)]
            out[g] = {**shared, **dict(zip(self.local, loc))}
        return out

    def residual(self, x):
        vals = self.unpack(x)
        return np.concatenate([f.d.residual(f.predict(vals[g])) for g, f in self.fitters.items()])

    @property
    def projectable(self) -> bool:
        """True when every constant that is not shared enters linearly: then the joint
        problem is a search over the shared constants alone (variable projection)."""
        return set(self.comp.nonlinear) <= set(self.shared)

    def project(self, shared0: Mapping[str, float]) -> dict | None:
        """Shared constants by variable projection (per-group linear solves inside)."""
        f0 = next(iter(self.fitters.values()))
        nl = self.comp.nonlinear
        x0 = np.array([f0.to_internal(n, shared0[n]) for n in nl])
        lo, hi = f0.bounds_internal(nl)
        x0 = np.clip(x0, lo, hi)

        def resid(x):
            return np.concatenate([f.varpro_residual(x) for f in self.fitters.values()])

        try:
            res = least_squares(resid, x0, bounds=(lo, hi), method="trf", x_scale="jac",
                                max_nfev=100 + 30 * len(x0), ftol=1e-9, xtol=1e-9)
        except (ValueError, np.linalg.LinAlgError):
            return None
        theta = {n: f0.from_internal(n, v) for n, v in zip(nl, res.x)}
        out = {}
        for g, f in self.fitters.items():
            coef, _ = f.solve_linear(np.array([theta[n] for n in nl]))
            if coef is None:
                return None
            out[g] = {**theta, **{n: float(c) for n, c in zip(f.lin, coef)},
                      **{n: shared0[n] for n in self.shared if n not in theta}}
        return out

    def jacobian(self, x):
        """Block Jacobian: shared columns for every group's rows, local columns for its own."""
        vals = self.unpack(x)
        k, L = len(self.shared), len(self.local)
        names = list(self.comp.law.params)
        idx = {n: i for i, n in enumerate(names)}
        rows = [f.d.n for f in self.fitters.values()]
        J = np.zeros((sum(rows), len(x)))
        r0 = 0
        for gi, (g, f) in enumerate(self.fitters.items()):
            v = [np.float64(vals[g][n]) for n in names]
            with np.errstate(all="ignore"):
                pred = _bcast(self.comp.full(*f.d.cols, *v), f.d.n)
                D = np.column_stack([_bcast(d, f.d.n) for d in self.comp.grad(*f.d.cols, *v)])
            Jg = f.d.residual_jac(pred, D)
            sl = slice(r0, r0 + f.d.n)
            J[sl, :k] = Jg[:, [idx[n] for n in self.shared]]
            J[sl, k + gi * L: k + (gi + 1) * L] = Jg[:, [idx[n] for n in self.local]]
            r0 += f.d.n
        return np.where(np.isfinite(J), J, 0.0)

    def run(self, init: dict, fast: bool = False):
        """``init``: group -> constants (independent per-group fits, or a projected start).
        ``fast`` (bootstrap refits from the solution of a nearby problem) stops sooner."""
        groups = list(self.blocks)
        x0 = [float(np.median([init[g][n] for g in groups])) for n in self.shared]
        for g in groups:
            x0 += [init[g][n] for n in self.local]
        law = self.comp.law
        lo = [law.params[n].lower for n in self.shared] + [law.params[n].lower for _ in groups for n in self.local]
        hi = [law.params[n].upper for n in self.shared] + [law.params[n].upper for _ in groups for n in self.local]
        x0 = np.clip(np.array(x0), lo, hi)
        # x holds the constants themselves (no log transform here), so the analytic gradient applies as is
        jac = self.jacobian if self.comp.grad is not None else "2-point"
        big = len(x0) > 30  # many groups: iterative trust-region steps instead of a dense SVD each step
        res = least_squares(self.residual, x0, jac=jac, bounds=(lo, hi), method="trf", loss="huber",
                            f_scale=self.delta, x_scale="jac", max_nfev=30 if fast else min(100 * (len(x0) + 1), 200),
                            ftol=1e-6 if fast else 1e-8, xtol=1e-6 if fast else 1e-8,
                            tr_solver="lsmr" if big else "exact")
        vals = self.unpack(res.x)
        cost = huber_cost(self.residual(res.x), self.delta)
        return cost, vals, bool(res.status > 0 and np.isfinite(cost)), res.message


def _usable(fitter: _Fitter, vals) -> bool:
    """A group's solution predicts finite values on every one of its own rows."""
    if vals is None:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(fitter.predict(vals))))


def _grouped_result(law, values, ok, cost, msgs, n_starts, group_name, shared) -> FitResult:
    constants = {g: {k: float(v[k]) for k in law.params} for g, v in values.items()}
    fitted = law.with_constants(constants, group=group_name or "group", shared=shared)
    bounds = sorted({b for v in values.values() for b in _at_bounds(law, v)})
    return FitResult(fitted, ok, cost, "; ".join(msgs[:3]), bounds, n_starts=n_starts)


def _bootstrap_groups(result: FitResult, comp, blocks: dict, delta, B: int, seed: int):
    rng = np.random.default_rng(seed + 7919)
    samples, intervals = {}, {}
    for g, d in blocks.items():  # one generator through the groups in turn
        draws = _resample(comp, d, delta, result.law.constants[g], B, rng)
        samples[g] = draws
        intervals[g] = {n: _interval(v) for n, v in draws.items()}
    result.samples = samples
    result.intervals = intervals


def _bootstrap_joint(result: FitResult, comp, blocks: dict, shared, delta, B: int, seed: int):
    """Rows resampled within every group, the joint fit (shared constants) redone warm per draw."""
    rng = np.random.default_rng(seed + 7919)
    base = result.law.constants
    samples = {g: {n: [] for n in base[g]} for g in blocks}
    for _ in range(B):
        draw = {g: d.subset(rng.integers(0, d.n, d.n)) for g, d in blocks.items()}
        try:
            cost, vals, _, _ = _JointFitter(comp, draw, shared, delta).run(base, fast=True)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if not np.isfinite(cost):
            continue
        for g in blocks:
            for n in samples[g]:
                samples[g][n].append(float(vals[g][n]))
    result.samples = samples
    result.intervals = {g: {n: _interval(v) for n, v in d.items()} for g, d in samples.items()}
