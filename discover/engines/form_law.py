"""A fitted grammar form written as a :class:`~discover.law.Law` in the user's variables.

The engine fits forms on normalised inputs (each feature divided by its
geometric mean); the law it hands over is in the original units, with the
engine's solution carried across as starting values (and, with groups, as every
group's starting constants), so the pipeline's refit begins where the engine
ended instead of searching again.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import sympy

from ..candidate import Candidate
from ..law import Law, Param
from .base import EngineTask
from .forms import Fitted, Form, FormEval

THETA_PREFIXES = ("a", "b", "g", "h", "p", "q", "s", "u")  # names of term constants: a1, b1, ...


def to_law(fit: Fitted, task: EngineTask) -> Candidate | None:
    """Write a fitted form as a Law in the original variables; the candidate carries the
    engine's solution as starting constants (and every group's, when grouped)."""
    form = fit.form
    eta = fit.theta[0] if len(fit.theta) == 1 else np.median(np.array(fit.theta), axis=0)
    fe = FormEval(form, task.log_space, 1.0)
    params: dict[str, Param] = {}
    starts: dict[str, float] = {}
    pieces = []
    for k, (t, (a, b)) in enumerate(zip(form.terms, fe.splits), start=1):
        names = [f"{s}{k}" for s in THETA_PREFIXES[: t.n_theta]]
        expr, st, bounds = t.sympy(eta[a:b], names)
        for n in names:
            lo, hi = bounds[n]
            v = float(np.clip(st[n], lo if math.isfinite(lo) else -1e300, hi if math.isfinite(hi) else 1e300))
            log_scale = lo == 0.0 and not math.isfinite(hi)
            if log_scale:
                v = max(v, 1e-300)
                init = tuple(sorted({v, v * 10, v / 10}))
            else:
                init = tuple(sorted({round(v, 6), round(v * 0.7, 6), round(v * 1.3, 6)}))
            params[n] = Param(n, lo, hi, init=init, log_scale=log_scale)
            starts[n] = v
        pieces.append(expr)
    cs = [sympy.Symbol(f"c{k}", real=True) for k in range(1, len(pieces) + 1)]
    coef = next(iter(fit.coefs.values()))
    expr = form.spec.law_expr(pieces, cs, form.terms, eta, coef, form.intercept, starts, params)
    expr = expr.xreplace({s: sympy.Symbol(str(s), real=True) for s in expr.free_symbols})
    free = {str(s) for s in expr.free_symbols}
    feats = [f for f in task.features if f in free]
    for n in sorted(free - set(feats) - set(params)):
        params[n] = Param(n)
    try:
        law = Law(name="", expr=expr, variables=tuple(feats), params={n: params[n] for n in sorted(params) if n in free},
                  provenance=f"engine: grammar, seed {task.seed}",
                  description=f"grammar form {form.key} ({fit.mode} exponents)")
    except Exception:  # noqa: BLE001 - a malformed candidate is dropped, never fatal
        return None
    group_starts = group_starts_backtest = None
    shared: tuple = ()
    if task.grouped:
        # The engine fits grouped forms with the term constants (exponents, offsets, centres)
        # shared across groups and the linear coefficients per group, and ranks them so; the law
        # says the same, so the pipeline refits and scores the model the engine chose (per-group
        # refits of every constant overfit curves of a dozen points), starting from the engine's
        # per-group solution on the same training rows.
        names = set(law.params)
        coef_names = {str(c) for c in cs}  # the law's names for the engine's linear coefficients
        local = form.spec.local(coef_names)
        shared = tuple(sorted(names - local))
        per_group = _group_starts(form, fit.coefs, fe, eta, pieces, starts, task)
        if per_group is not None:
            group_starts = _only(per_group, names)
        if fit.backtest is not None:  # the same from the engine's own fit on the backtest rows
            eta_b, coefs_b = fit.backtest
            bt = _group_starts(form, coefs_b, fe, eta_b, pieces, _eta_starts(form, fe, eta_b, starts), task)
            if bt is not None:
                group_starts_backtest = _only(bt, names)
    return Candidate(dataclasses.replace(law, name=law.formula, shared=shared), start=starts,
                     group_starts=group_starts, group_starts_backtest=group_starts_backtest, form=form.key,
                     engine_score=fit.val_err, train_score=fit.train_err)


def _only(per_group: dict, names) -> dict:
    """Per-group constants restricted to the law's own constants."""
    return {g: {n: v for n, v in d.items() if n in names} for g, d in per_group.items()}


def _eta_starts(form: Form, fe: FormEval, eta, like: dict) -> dict:
    """The law's shared constants for another η (as :func:`to_law` names them)."""
    out = dict(like)
    for k, (t, (a, b)) in enumerate(zip(form.terms, fe.splits), start=1):
        names = [f"{s}{k}" for s in THETA_PREFIXES[: t.n_theta]]
        _, st, _ = t.sympy(eta[a:b], names)
        out.update({n: float(st[n]) for n in names})
    out.update(form.spec.lead_constants(eta, len(form.terms)))
    return out


def _group_starts(form: Form, coefs: dict, fe: FormEval, eta, pieces, starts, task: EngineTask):
    """Every group's constants in the law's terms, from the engine's per-group coefficients.

    The engine's columns are the terms on normalised inputs, an affine image
    ``alpha * p + beta`` of the law's term ``p`` in the original variables (a
    power picks up a factor, a log an offset). alpha and beta are measured on
    the training rows; the coefficients are mapped through them. None when a
    column is not affine in its term, or for a link without a free offset (power).
    """
    if not form.spec.maps_groups:
        return None
    sub = {sympy.Symbol(n, real=True): v for n, v in starts.items()}
    alpha, beta = [], []
    X = task.X_train
    for t, (a, b), p in zip(form.terms, fe.splits, pieces):
        with np.errstate(all="ignore"):
            col = np.asarray(t.column([v.values(X) for v in t.vars], eta[a:b]), dtype=float)
        expr = p.xreplace(sub)
        syms = sorted(expr.free_symbols, key=str)
        try:
            f = sympy.lambdify(syms, expr, modules="numpy")
            with np.errstate(all="ignore"):
                val = np.broadcast_to(np.asarray(f(*[np.asarray(X[str(s)], float) for s in syms]), float), col.shape)
        except Exception:  # noqa: BLE001 - no start, the pipeline searches instead
            return None
        ok = np.isfinite(col) & np.isfinite(val)
        if ok.sum() < 2:
            return None
        M = np.column_stack([val[ok], np.ones(ok.sum())])
        (al, be), *_ = np.linalg.lstsq(M, col[ok], rcond=None)
        if not np.allclose(M @ [al, be], col[ok], rtol=1e-6, atol=1e-9 * (np.abs(col[ok]).max() + 1e-300)):
            return None
        alpha.append(float(al))
        beta.append(float(be))
    alpha, beta = np.array(alpha), np.array(beta)
    out = {}
    for g, coef in coefs.items():
        d = form.spec.group_constants(np.asarray(coef, float), eta, alpha, beta, form.intercept, len(form.terms))
        out[str(g)] = {**starts, **d}
    return out
