"""Why a fitted law is not one a researcher would publish: flags of degenerate fits.

A law can fit its rows and still be unusable as a law: a constant pinned at
its bound (the rows pushed it out of the range the form allows), constants the
rows cannot identify (only a combination of them is fitted), a coefficient so
small its term does nothing, two terms that cancel (large values of opposite
sign whose difference is the prediction), an irreducible loss below zero on
a target that is a positive loss, or a forecast that falls below zero on such
a target as a scale grows (``E + B log N`` with ``B < 0`` fits a ladder and is
unbounded below; a law with a negative floor may be too). Each is a *flag*: the law stays on the
leaderboard, marked, ranked after the clean laws, and is recommended only when
no clean law predicts the held-out rows as well -- the last one not at all
while another law can forecast (:mod:`discover.select`).
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import numpy as np
import sympy

from .formula import make_symbol, to_text
from .law import Law, compile_numpy
from .roles import is_scale

NEAR_BOUND = 0.005  # of a constant's finite range: "at its bound"
NEGLIGIBLE = 1e-30  # a coefficient this small in size contributes nothing (whatever the units)
IDLE_SHARE = 1e-6  # a term of the sum below this share of the prediction on every row does nothing there
CANCEL_RATIO = 100.0  # the terms' sizes summed over the prediction's size, on the median row
#: A scale is followed to 10**k times the largest value the rows hold, k = 1 ... this: a stand-in
#: for "as it grows without bound" that floats can still hold (a log term's slope shows by then).
FOLLOWED_DECADES = 100

AT_BOUND, NOT_IDENTIFIABLE, NOT_CONVERGED = "at bound", "not identifiable", "did not converge"
NEGLIGIBLE_TERM, CANCELLING, NEGATIVE_FLOOR = "negligible coefficient", "cancelling terms", "negative floor"
IDLE_TERM = "term does nothing on the table"
BELOW_ZERO = "forecasts below zero as a scale grows"


def at_bound(law: Law, values: Mapping[str, float], reported: Sequence[str] = ()) -> list[str]:
    """Constants within :data:`NEAR_BOUND` of their range from a bound, with those the fitter
    reported pinned at one. The range is measured in the scale the fitter searches the constant
    in: log space for a log-scale constant (Kaplan's N_c = 8.8e13 in [1e-12, 1e30] is in the
    middle of its range, not 0.5 % of the way up)."""
    out = list(reported)
    for n, p in law.params.items():
        v = float(values[n])
        lo, hi = p.lower, p.upper
        if p.log_scale and lo > 0 and v > 0:
            v, lo, hi = math.log(v), math.log(lo), math.log(hi) if math.isfinite(hi) else hi
        if math.isfinite(lo) and math.isfinite(hi) and min(v - lo, hi - v) <= NEAR_BOUND * (hi - lo):
            out.append(n)
    return sorted(set(out))


def additive_terms(law: Law) -> list[sympy.Expr]:
    """The terms of the law's top-level sum that hold a variable (none for a product or a power)."""
    variables = {sympy.Symbol(v, positive=True) for v in law.variables}
    expr = law.expr
    if not isinstance(expr, sympy.Add):
        return []
    return [t for t in expr.args if t.free_symbols & variables]


def floor_constant(law: Law) -> str | None:
    """The constant that stands alone in the law's top-level sum (its irreducible part), if any."""
    if not isinstance(law.expr, sympy.Add):
        return None
    alone = [t for t in law.expr.args if isinstance(t, sympy.Symbol) and str(t) in law.params]
    return str(alone[0]) if len(alone) == 1 else None


def fit_flags(law: Law, values: Mapping, X: Mapping[str, np.ndarray], *, positive_target: bool,
              groups: np.ndarray | None = None, reported_bounds: Sequence[str] = (), converged: bool = True,
              message: str = "") -> list[str]:
    """The flags of ``law`` fitted to ``values`` (constants, or group -> constants with ``groups``
    labelling the rows ``X``), judged on those rows; plain text, one per kind of problem."""
    per_group = groups is not None and isinstance(next(iter(values.values()), None), Mapping)
    blocks = ([(values[g], {k: v[groups == g] for k, v in X.items()}) for g in values] if per_group
              else [(values, X)])
    bounds, tiny, floors, cancel, falls = set(reported_bounds), set(), [], False, set()
    terms = _term_functions(law)
    floor = floor_constant(law)
    idle = None  # terms of the sum that are negligible in every block
    for vals, rows in blocks:
        bounds.update(at_bound(law, vals))
        tiny.update(n for n, v in vals.items() if v != 0 and abs(float(v)) < NEGLIGIBLE)
        if positive_target and floor is not None and float(vals[floor]) < 0:
            floors.append(float(vals[floor]))
        cancel = cancel or _cancelling(law, terms, vals, rows)
        if positive_target:
            falls.update(scales_below_zero(law, vals, rows))
        here = set(_idle_terms(law, terms, vals, rows))
        idle = here if idle is None else idle & here
    flags = []
    if bounds:
        flags.append(f"{AT_BOUND}: {', '.join(sorted(bounds))}")
    unidentified = re.search(r"constants (.+?) are not identifiable", message or "")
    if unidentified:
        flags.append(f"{NOT_IDENTIFIABLE}: {unidentified.group(1)}")
    elif not converged:
        flags.append(NOT_CONVERGED)
    if tiny:
        flags.append(f"{NEGLIGIBLE_TERM}: {', '.join(sorted(tiny))}")
    if idle:
        texts = [to_text(t) for i, t in enumerate(law.expr.args) if i in idle]
        flags.append(f"{IDLE_TERM}: {'; '.join(texts)}")
    if floors:
        flags.append(f"{NEGATIVE_FLOOR}: {floor} = {min(floors):.3g} on a positive target")
    if cancel:
        flags.append(CANCELLING)
    if falls:
        flags.append(f"{BELOW_ZERO}: {', '.join(sorted(falls))}")
    return flags


def scales_below_zero(law: Law, values: Mapping[str, float], X: Mapping[str, np.ndarray]) -> list[str]:
    """The scales (model size, data, unique data, compute, the LR schedule's area, steps:
    :func:`discover.roles.is_scale`) along which the law forecasts below zero, each followed alone
    from the largest value the rows hold up to :data:`FOLLOWED_DECADES` decades beyond it, every
    other variable at its median over the rows.

    A positive target cannot go there, so such a law's forecast fails somewhere as the scale grows
    -- however far away, it says the fitted shape is not the law's shape: a loss falls ever more
    slowly towards a floor, not along ``-log N`` (which a short ladder cannot tell apart). Below
    zero, not at zero: a power law's forecast that underflows to 0.0 there has not crossed."""
    if not law.variables or not len(np.asarray(X[law.variables[0]])):
        return []
    base = {v: np.full(FOLLOWED_DECADES, float(np.nanmedian(np.asarray(X[v], float)))) for v in law.variables}
    out = []
    for v in law.variables:
        top = float(np.nanmax(np.asarray(X[v], float)))
        if not is_scale(v) or not (math.isfinite(top) and top > 0):
            continue
        path = dict(base)
        path[v] = top * 10.0 ** np.arange(1, FOLLOWED_DECADES + 1)
        pred = law.evaluate(path, values)
        if np.any(pred[~np.isnan(pred)] < 0):
            out.append(v)
    return out


def _term_functions(law: Law):
    """Numeric functions of the terms of the law's top-level sum (none for a single term)."""
    terms = list(law.expr.args) if isinstance(law.expr, sympy.Add) else []
    if len(terms) < 2:
        return []
    syms = [sympy.Symbol(v, positive=True) for v in law.variables] + [make_symbol(c) for c in law.params]
    return [compile_numpy(syms, t) for t in terms]


def _idle_terms(law: Law, terms, values: Mapping[str, float], X: Mapping[str, np.ndarray]) -> list[int]:
    """Indices of the terms of the law's sum (those holding a variable) whose size is below
    :data:`IDLE_SHARE` of the prediction on every row: they do nothing on the table, in any units."""
    if not terms:
        return []
    variables = {sympy.Symbol(v, positive=True) for v in law.variables}
    args = [np.asarray(X[v], float) for v in law.variables] + [np.float64(values[c]) for c in law.params]
    n = len(args[0]) if law.variables else 1
    with np.errstate(all="ignore"):
        total = np.abs(np.asarray(law.evaluate(X, values), float))
        out = []
        for i, (f, t) in enumerate(zip(terms, law.expr.args)):
            if not t.free_symbols & variables:
                continue
            size = np.abs(np.broadcast_to(np.asarray(f(*args), float), (n,)))
            share = size / np.maximum(total, 1e-300)
            if np.all(np.isfinite(share)) and float(np.max(share)) < IDLE_SHARE:
                out.append(i)
    return out


def _cancelling(law: Law, terms, values: Mapping[str, float], X: Mapping[str, np.ndarray]) -> bool:
    """Terms of the law's sum much larger than their sum: the median over the rows of the terms'
    sizes (and any floor's) summed, over the prediction, is above :data:`CANCEL_RATIO` -- a hundred
    times: the law is then a small difference of large numbers, which no fit pins down."""
    if not terms:
        return False
    args = [np.asarray(X[v], float) for v in law.variables] + [np.float64(values[c]) for c in law.params]
    n = len(args[0]) if law.variables else 1
    sizes = np.zeros(n)
    with np.errstate(all="ignore"):
        for f in terms:
            sizes = sizes + np.abs(np.broadcast_to(np.asarray(f(*args), float), (n,)))
        total = np.abs(law.evaluate(X, values))
    ratio = sizes / np.maximum(total, 1e-300)
    ratio = ratio[np.isfinite(ratio)]
    return bool(len(ratio)) and float(np.median(ratio)) > CANCEL_RATIO
