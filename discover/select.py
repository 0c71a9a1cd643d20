"""Choosing a law: Pareto front of validation error against complexity.

The recommended law is picked on validation data only (test metrics are
computed after and only reported). Among laws whose validation error cannot be
told apart from the best one's, the simplest is recommended: a law that is
barely better on a handful of validation runs but twice as long is more likely
to have fitted noise than found structure.

"Cannot be told apart" is the standard-error rule, made paired: on the
same validation rows, the excess squared error of a law over the
best law is averaged row by row, and a law is within noise of the best when
that mean excess is at most ``z`` standard errors. Paired differences matter:
two laws that err alike on most rows differ by much less than either's own
error spread, so a law that is better on nearly every row stays better, while
a law that wins by luck on a few rows does not crowd out a simpler one.
The validation band can be small, so (below 100 validation rows) the rows
the law was fitted on get a veto first: a law whose BIC is far above the
lowest (the fitted rows speak strongly against it) is out, however well it
does on validation, and the best law, the reference for "within noise", is
the best of the rest. On a dozen validation rows some law among hundreds extrapolates well by luck; if
it is the reference, the true law can look significantly worse than it.
Among the laws validation cannot tell apart, the fitted rows also break the
tie when they speak strongly (a BIC lower by more than 6) for a longer law:
simplicity is the choice only when neither kind of data prefers another law.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from .result import Scored
from .score import error_of
from .splits import VAL

# selection bands and their weights. Only the validation band, the one closest to the test rows:
# the backtest fit has fewer rows, and on the synthetic suite weighting it in (2:1) kept true
# forms whose constants need those rows (an effective-precision γ, a rectified-SFT offset) from
# being chosen; it is reported, not chosen on.
SELECTION_WEIGHTS = {VAL: 1.0}


#: Standard errors of paired excess error within which a law counts as good as the best: two,
#: because the best is the best of many candidates on the same rows, so its own error is
#: optimistically low (on the synthetic suite one standard error kept overfitted forms).
Z = 2.0
#: BIC above the lowest beyond which the fitted rows speak "very strongly" against a law
#: (Kass & Raftery 1995): it is not chosen however well it does on the validation rows.
MAX_BIC_GAP = 10.0
#: Validation rows from which the BIC veto is dropped. The veto guards against luck on a small
#: band; on a band this large the paired test has the power to judge extrapolation itself, and
#: on real tables (misspecified by every candidate) in-sample BIC mostly measures structured
#: misfit of the fitted rows: SLDBench's vocabulary table (240 validation rows) has laws 800 BIC
#: apart that are within noise of each other on validation, and the veto kept only the longest.
BIC_VETO_MAX_ROWS = 100
#: Among laws validation cannot tell apart, a BIC this much lower than a simpler law's is "strong"
#: evidence (Kass & Raftery 1995) from the fitted rows for the longer law, and breaks the tie.
STRONG_BIC_GAP = 6.0


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of points (error, complexity) not dominated by any other, sorted by complexity."""
    idx = [i for i, (e, c) in enumerate(points) if math.isfinite(e)]
    front = []
    for i in idx:
        ei, ci = points[i]
        dominated = any(
            (points[j][0] <= ei and points[j][1] <= ci) and (points[j][0] < ei or points[j][1] < ci)
            for j in idx if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][1], points[i][0]))


def recommend(errors: Sequence[float], complexities: Sequence[float], *, tolerance: float = 0.02,
              eligible: Sequence[bool] | None = None, residuals: Sequence[Mapping[str, Sequence[float]]] | None = None,
              weights: Mapping[str, float] | None = None, z: float = Z, bics: Sequence[float] | None = None,
              max_bic_gap: float = MAX_BIC_GAP) -> int | None:
    """Index of the simplest law on the Pareto front that is as good as the best one.

    A law is as good when its error is within ``tolerance`` (relative) of the
    best or, given each law's per-row ``residuals`` by band ({band: values} on
    the same rows for every law) and band ``weights``, when its paired excess
    squared error over the best law is within ``z`` standard errors
    (:func:`paired_excess`). Only laws marked eligible are considered and,
    given ``bics`` (on the fitted rows), only those at most ``max_bic_gap``
    above the lowest BIC among them; and among the laws as good as the best,
    one whose BIC is more than :data:`STRONG_BIC_GAP` above the lowest of
    theirs is passed over -- both unless the residuals hold at least
    :data:`BIC_VETO_MAX_ROWS` validation rows.
    """
    ok_in = [(eligible is None or eligible[i]) and math.isfinite(e) for i, e in enumerate(errors)]
    rows = max((len(r["val"]) for r in residuals or () if r.get("val") is not None), default=0)
    if bics is not None and rows < BIC_VETO_MAX_ROWS:
        finite = [b for b, ok in zip(bics, ok_in) if ok and math.isfinite(b)]
        if finite:
            floor = min(finite) + max_bic_gap
            ok_in = [ok and not (math.isfinite(b) and b > floor) for ok, b in zip(ok_in, bics)]
    pts = [(e if ok_in[i] else math.inf, c) for i, (e, c) in enumerate(zip(errors, complexities))]
    front = pareto_front(pts)
    if not front:
        return None
    best_i = min(front, key=lambda i: (pts[i][0], pts[i][1]))
    best = pts[best_i][0]

    def as_good(i: int) -> bool:
        if pts[i][0] <= best * (1 + tolerance) + 1e-15:
            return True
        if residuals is None:
            return False
        excess, se = paired_excess(residuals[i], residuals[best_i], weights or {})
        return math.isfinite(excess) and excess <= z * se

    ok = [i for i in front if as_good(i)]
    if bics is not None and rows < BIC_VETO_MAX_ROWS:
        floor = min((bics[i] for i in ok if math.isfinite(bics[i])), default=math.inf) + STRONG_BIC_GAP
        ok = [i for i in ok if not (math.isfinite(bics[i]) and bics[i] > floor)]  # as the veto: no BIC, no say
    return min(ok, key=lambda i: (pts[i][1], pts[i][0]))


def paired_excess(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]],
                  weights: Mapping[str, float]) -> tuple[float, float]:
    """Mean excess squared residual of law ``a`` over law ``b`` and its standard error.

    Bands (validation, backtest) present for both laws with the same number of
    rows are compared row by row; each band's mean difference is weighted by
    ``weights`` (default 1) and the weights normalised, so the excess is on the
    scale of a mean squared error. (inf, 0) when nothing can be compared or a
    residual is not finite.
    """
    total_w, mean, var = 0.0, 0.0, 0.0
    parts = []
    for band, ra in a.items():
        rb = b.get(band)
        if rb is None or len(ra) != len(rb) or len(ra) < 2:
            continue
        d = _floats(ra) ** 2 - _floats(rb) ** 2
        if not np.all(np.isfinite(d)):
            return math.inf, 0.0
        w = float(weights.get(band, 1.0))
        parts.append((w, float(d.mean()), float(d.var(ddof=1)) / len(d)))
        total_w += w
    if not parts or total_w <= 0:
        return math.inf, 0.0
    for w, m, v in parts:
        mean += w / total_w * m
        var += (w / total_w) ** 2 * v
    return mean, math.sqrt(var)


def _floats(values: Sequence) -> np.ndarray:
    """Residuals as floats; those read back from JSON may carry 'inf'/'nan' as text."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            out[i] = math.nan
    return out


def rank(scored: list[Scored], log_space: bool, *, tolerance: float = 0.02) -> tuple[list[Scored], int | None, list[int]]:
    """Sort by selection error (validation if any, else BIC), recommend, Pareto front."""
    has_val = any((s.metrics.get(VAL) or {}).get("n") for s in scored)

    def sel_error(s: Scored) -> float:
        if not s.ok:
            return math.inf
        if has_val:
            return selection_error(s.metrics, log_space)
        return s.bic if math.isfinite(s.bic) else math.inf

    order = sorted(range(len(scored)), key=lambda i: (sel_error(scored[i]), scored[i].law.complexity, scored[i].law.name))
    ranked = [scored[i] for i in order]
    errs = [sel_error(s) for s in ranked]
    cx = [s.law.complexity for s in ranked]
    if has_val:
        resid = [selection_residuals(s.metrics) for s in ranked]
        rec = recommend(errs, cx, tolerance=tolerance, residuals=resid, weights=SELECTION_WEIGHTS,
                        bics=[s.bic for s in ranked])
    else:
        finite = [i for i, e in enumerate(errs) if math.isfinite(e)]
        rec = finite[0] if finite else None
    front = pareto_front(list(zip(errs, cx)))
    return ranked, rec, front


def selection_residuals(m: dict) -> dict:
    """The per-row residuals on the selection bands, {band: values}, for the paired test of :func:`recommend`."""
    return {band: (m.get(band) or {}).get("residuals") for band in SELECTION_WEIGHTS
            if (m.get(band) or {}).get("residuals") is not None}


def selection_error(m: dict, log_space: bool) -> float:
    """The number laws are chosen by: the extrapolation error on the selection
    bands (:data:`SELECTION_WEIGHTS`), averaged with their weights."""
    errs, weights = [], []
    for k, w in SELECTION_WEIGHTS.items():
        if (m.get(k) or {}).get("n"):
            e = error_of(m.get(k), log_space)
            errs.append(math.inf if math.isnan(e) else e)
            weights.append(w)
    return float(np.average(errs, weights=weights)) if errs else math.inf
