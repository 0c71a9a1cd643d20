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

from ..law import Law, Param
from .base import EngineTask
from .forms import Fitted, Form, FormEval

THETA_PREFIXES = ("a", "b", "g", "h", "p", "q", "s", "u")  # names of term constants: a1, b1, ...


def to_law(fit: Fitted, task: EngineTask) -> Law | None:
    """Write a fitted form as a Law in the original variables, with starting constants."""
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
    E, A = sympy.Symbol("E", real=True), sympy.Symbol("A", real=True)
    cs = [sympy.Symbol(f"c{k}", real=True) for k in range(1, len(pieces) + 1)]
    if form.link == "id":
        expr = sum(c * p for c, p in zip(cs, pieces))
        if form.intercept:
            expr = E + expr
    elif form.link == "pow":
        gsym = sympy.Symbol("gamma", real=True)
        expr = sympy.Add(*[c * p for c, p in zip(cs, pieces)]) ** gsym
        starts["gamma"] = float(eta[0])
        params["gamma"] = Param("gamma", 0.0, 10.0, init=(float(eta[0]),))
        coef = next(iter(fit.coefs.values()))
        for k, c in enumerate(cs):
            starts[str(c)] = float(coef[k])
            params[str(c)] = Param(str(c), init=(float(coef[k]),))
    else:
        inner_c = eta[: len(pieces)] if form.link == "fexp" else None
        factors, rest = [], []
        for k, (t, p, c) in enumerate(zip(form.terms, pieces, cs)):
            if t.kind == "log":  # exp(c log x) = x**c
                factors.append(t.vars[0].sympy() ** c)
            else:
                rest.append(c * p)
        expr = A * sympy.Mul(*factors) * sympy.exp(sympy.Add(*rest)) if rest else A * sympy.Mul(*factors)
        if form.link == "fexp":
            expr = E + expr
            for k, c in enumerate(cs):
                starts[str(c)] = float(inner_c[k])
                params[str(c)] = Param(str(c), -20.0, 20.0, init=(float(inner_c[k]),))
        else:
            coef = next(iter(fit.coefs.values()))
            for k, c in enumerate(cs):
                v = float(coef[k + 1]) if form.intercept else float(coef[k])
                starts[str(c)] = v
                params[str(c)] = Param(str(c), -20.0, 20.0, init=(v,))
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
    extra = {"start": starts, "val_err": fit.val_err, "train_err": fit.train_err, "form": form.key,
             "mode": fit.mode}
    shared: tuple = ()
    if task.grouped:
        # The engine fits grouped forms with the term constants (exponents, offsets, centres)
        # shared across groups and the linear coefficients per group, and ranks them so; the law
        # says the same, so the pipeline refits and scores the model the engine chose (per-group
        # refits of every constant overfit curves of a dozen points), starting from the engine's
        # per-group solution on the same training rows.
        names = set(law.params)
        coef_names = {str(c) for c in cs}  # the law's names for the engine's linear coefficients
        local = {"fexp": {"E", "A"}, "pow": coef_names}.get(form.link, {"E", "A"} | coef_names)
        shared = tuple(sorted(names - local))
        per_group = _group_starts(form, fit.coefs, fe, eta, pieces, starts, task)
        if per_group is not None:
            extra["start_groups"] = _only(per_group, names)
        if "backtest_fit" in fit.extra:  # the same from the engine's own fit on the backtest rows
            eta_b, coefs_b = fit.extra["backtest_fit"]
            bt = _group_starts(form, coefs_b, fe, eta_b, pieces, _eta_starts(form, fe, eta_b, starts), task)
            if bt is not None:
                extra["start_groups_backtest"] = _only(bt, names)
    return dataclasses.replace(law, name=law.formula, shared=shared, extra=extra)


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
    if form.link == "fexp":
        out.update({f"c{k}": float(eta[k - 1]) for k in range(1, len(form.terms) + 1)})
    if form.link == "pow":
        out["gamma"] = float(eta[0])
    return out


def _group_starts(form: Form, coefs: dict, fe: FormEval, eta, pieces, starts, task: EngineTask):
    """Every group's constants in the law's terms, from the engine's per-group coefficients.

    The engine's columns are the terms on normalised inputs, an affine image
    ``alpha * p + beta`` of the law's term ``p`` in the original variables (a
    power picks up a factor, a log an offset). alpha and beta are measured on
    the training rows; the coefficients are mapped through them. None when a
    column is not affine in its term, or for the power link (no free offset).
    """
    if form.link == "pow":
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
        coef = np.asarray(coef, float)
        d = {}
        if form.link == "fexp":  # E + A exp(sum c_k col_k); the c_k are shared (eta)
            inner = np.asarray(eta[: len(form.terms)], float)
            d["E"] = float(coef[0])
            d["A"] = float(coef[1] * math.exp(min(float(inner @ beta), 700.0)))
            d.update({f"c{k + 1}": float(inner[k] * alpha[k]) for k in range(len(form.terms))})
        else:
            icpt = 1 if form.intercept else 0
            c = coef[icpt:]
            b0 = (float(coef[0]) if icpt else 0.0) + float(c @ beta)
            d.update({f"c{k + 1}": float(c[k] * alpha[k]) for k in range(len(form.terms))})
            if form.link == "id":
                d["E"] = b0
            else:  # log link: A = exp(intercept)
                d["A"] = math.exp(min(b0, 700.0))
        out[str(g)] = {**starts, **d}
    return out
