"""One form over several groups with some constants shared, fitted jointly.

Why a block Jacobian rather than nested fits: a shared exponent and every
group's own coefficients move together, and one trust-region problem over all
of them converges where alternating per-group fits stall. When every constant
that is not shared enters linearly, the problem is a search over the shared
constants alone (variable projection, :meth:`JointFitter.project`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from .compile import Compiled, bcast
from .solver import Fitter, huber_cost


class JointFitter:
    """One form over several groups with some constants shared (fitted jointly)."""

    def __init__(self, comp: Compiled, blocks: dict, shared: Sequence[str], delta: float):
        self.comp = comp
        self.blocks = blocks  # group -> Rows
        self.shared = list(shared)
        self.local = [n for n in comp.law.params if n not in shared]
        self.delta = delta
        self.fitters = {g: Fitter(comp, d, delta) for g, d in blocks.items()}

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
                pred = bcast(self.comp.full(*f.d.cols, *v), f.d.n)
                D = np.column_stack([bcast(d, f.d.n) for d in self.comp.grad(*f.d.cols, *v)])
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

