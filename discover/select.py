"""Choosing a law, by a rule stated as a principle.

Every law is judged by how it predicts runs beyond the ones it was fitted on:
refit below each of several bands along the direction of extrapolation (the
validation band nearest the test rows and, where the rows allow, the bands
under it -- a rolling origin), it predicts each band; its *selection error* is
the error pooled over those rows (:mod:`discover.scoring`). On a small table
every row is predicted from all the others instead
(:data:`discover.splits.LOO`). Test rows are never used.

The rule, in two sentences:

1. **The published law is the default.** Among the catalog laws, the choice is
   the simplest one as good as the best catalog law (within one standard
   error, as in 2); a discovered (or user-written) law replaces it only when
   the rows show it is better -- its paired excess error over the default is
   below zero by more than ``z`` standard errors.
2. **Parsimony in proportion to the evidence.** Among the laws that qualify,
   the recommended one is the simplest (fewest constants, then the shortest
   formula) within one standard error of the best one (the one-standard-error
   rule of cross-validation).

Both comparisons are paired: on the same rows, law a's excess squared error
over law b is averaged row by row, with its standard error (law a is as good
as b, too, when its error is within ``tolerance``, relative, of b's). Paired
differences matter: two laws that err alike on most rows differ much less
than either's own spread, so a law better on nearly every row stays better,
while one that wins on a few rows by luck does not crowd out a simpler law.
The two sentences ask different questions, so they have different bars. The
first is a test -- is the discovered law better than the published one? --
at the conventional two-sided 95 % level, ``z = 2`` (not widened for a
standard error from few runs: see :data:`SMALL_SAMPLE`). The second is
Breiman et al.'s one-standard-error rule (``z_parsimony = 1``): prefer the
simpler law unless the best one is better by more than the noise of one
standard error. A bar of two standard errors there would pass over the
better law whenever a simpler one is merely not *significantly* worse: on
bands of 5--30 rows that hands the choice to the two- and three-constant laws
that extrapolate worst (a pure power law where the rows have a floor). The
more rows, the smaller the standard error, and the more structure a law may
carry before a simpler one is as good -- parsimony in proportion to the
evidence, with no threshold chosen per table. The laws "within noise of the
best" that the forecast spread is taken over are those within two standard
errors: that set says what the rows cannot rule out.

On a curve table the rows of one run are not independent evidence (its
residuals move together along the curve), so the standard error of a paired
excess is the cluster-robust one, with the runs as the clusters: ten curves of
a hundred points each are ten pieces of evidence, not a thousand. When the rows
that select hold a single run (a ladder of one run per size), no spread over
runs can be measured; the standard error is then Newey-West's over that run's
steps, not infinite (which would make every law as good as the best and hand
the choice to the fewest constants).

A law flagged as degenerate (a constant at its bound, one the rows cannot
identify, a fit that did not converge) is recommended only when no clean law
is as good as it. A law whose forecast of a positive target falls below zero
as a scale grows (:data:`discover.flags.BELOW_ZERO`; a law with a negative
floor may) is not recommended at all while any other law can
forecast: the recommendation is a law of scale, and that law is known to fail
in the direction the user extrapolates (on the real suite such laws,
``E + B log N`` fits of one curve, won on a selection band and lost on the
larger runs). The same holds when no rows are held out and the lowest BIC
decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from .flags import BELOW_ZERO
from .result import NO_FORECAST, Scored
from .score import error_of
from .splits import SELECT

#: Paired standard errors by which a discovered law must beat the published default (two-sided 95 %).
Z = 2.0
#: Standard errors within which a simpler law counts as good as the best (the one-standard-error rule).
Z_PARSIMONY = 1.0
#: A law is better than another only if it is better on every forward fold, too (replication).
#: Off: on the real suite's candidates it changed no pick on the dev half and lost on confirm.
REPLICATE = False
#: Widen ``z`` to Student's t with the standard error's degrees of freedom (:func:`critical_value`).
#: Off: with the four runs of a validation band of curves (the OLMo ladder, 10x runs held out) the
#: bar rose to 3.3, the simplest catalog law (3 constants) could no longer be told apart from the
#: best, and it was recommended at test R2 0.68 where z = 2 gave 0.99; it changed nothing elsewhere.
SMALL_SAMPLE = False


@dataclass
class Choice:
    """What the rule chose and why: the index of the recommended law, the catalog default, the
    laws as good as the best, and one sentence for the user."""

    recommended: int | None
    default: int | None = None
    as_good_as_best: list[int] = field(default_factory=list)
    reason: str = ""


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


def paired_excess(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]],
                  weights: Mapping[str, float] | None = None,
                  clusters: Mapping[str, Sequence] | None = None) -> tuple[float, float]:
    """Mean excess squared residual of law ``a`` over law ``b`` on the rows both were judged on,
    and its standard error (:func:`paired_test` without its degrees of freedom)."""
    excess, se, _ = paired_test(a, b, weights, clusters)
    return excess, se


def critical_value(z: float, df: int) -> float:
    """``z`` (a large-sample critical value) widened for a standard error estimated from ``df``
    degrees of freedom: by the ratio of Student's t to the normal quantile at the same level.
    Two-sided 95 %: 2.0 with many rows, 2.2 with eighteen, 2.6 with six runs, 4.5 with three; infinite
    with none."""
    if df < 1:
        return math.inf
    level = stats.norm.cdf(z)
    return float(z * stats.t.ppf(level, df) / stats.norm.ppf(level))


def paired_test(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]],
                weights: Mapping[str, float] | None = None,
                clusters: Mapping[str, Sequence] | None = None) -> tuple[float, float, int]:
    """Mean excess squared residual of law ``a`` over law ``b`` on the rows both were judged on,
    its standard error, and the degrees of freedom of that standard error.

    Bands present for both laws with the same number of rows are pooled row by
    row (``weights``, when given, keep only the bands they name). ``clusters`` (band -> a label
    per row: the run of each evaluation) makes the standard error cluster-robust, with G - 1
    degrees of freedom for G runs (n - 1 for n rows otherwise); it is infinite with fewer than two
    clusters. (inf, 0, 0) when nothing can be compared or a residual is not finite.
    """
    parts, labels = [], []
    for band, ra in a.items():
        rb = b.get(band)
        if rb is None or len(ra) != len(rb) or (weights is not None and band not in weights):
            continue
        parts.append(_floats(ra) ** 2 - _floats(rb) ** 2)
        cl = None if clusters is None else clusters.get(band)
        labels.append(None if cl is None or len(cl) != len(ra) else np.asarray(cl).astype(str))
    d = np.concatenate(parts) if parts else np.zeros(0)
    if len(d) < 2 or not np.all(np.isfinite(d)):
        return math.inf, 0.0, 0
    if labels and all(lab is not None for lab in labels):
        runs = np.concatenate(labels)
        n_runs = len(np.unique(runs))
        if n_runs >= 2:
            return float(d.mean()), cluster_se(d, runs), n_runs - 1
        # one run: along its steps, each band's rows in step order (a band never crosses into another)
        return float(d.mean()), newey_west_se(d, [len(p) for p in parts]), len(d) - 1
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), len(d) - 1


def cluster_se(d: np.ndarray, labels: np.ndarray) -> float:
    """The cluster-robust (sandwich) standard error of the mean of ``d``, with the small-sample
    factor G/(G-1) for G clusters; infinite with one cluster (nothing to compare it with)."""
    _, codes = np.unique(labels, return_inverse=True)
    G = int(codes.max()) + 1
    if G < 2:
        return math.inf
    sums = np.bincount(codes, weights=d - d.mean(), minlength=G)
    return float(math.sqrt(G / (G - 1) * float(np.sum(sums ** 2))) / len(d))


def standard_errors(clusters: Mapping[str, Sequence] | None) -> str:
    """What the paired standard errors are computed over (for results.json), given the run of every
    selection row of a curve table (``None`` for a table of final results)."""
    if clusters is None:
        return "over rows"
    runs = {str(r) for labels in clusters.values() for r in labels}
    return ("cluster-robust over runs" if len(runs) >= 2
            else "Newey-West (HAC) over the steps of the one run that selects")


def newey_west_bandwidth(n: int) -> int:
    """Newey and West's (1994) rule of thumb for the lags a HAC standard error weighs: floor(4 (n/100)^(2/9))."""
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def newey_west_se(d: np.ndarray, segments: Sequence[int] | None = None) -> float:
    """The Newey-West (HAC) standard error of the mean of the series ``d``, taken in its order: the
    autocovariances up to :func:`newey_west_bandwidth` lags, with Bartlett weights 1 - lag/(L+1).
    ``segments`` (lengths summing to ``len(d)``) are stretches no lag crosses: the bands of one
    run (``tail:`` puts a run in every band), each predicted by its own fit.

    For the selection rows of a curve table that hold a single run (a ladder of one run per size,
    its next-to-largest size held out to select): a spread over runs cannot be measured, yet the
    point estimates still speak, and an infinite standard error would make every law as good as the
    best and hand the choice to the fewest constants. Along one curve the residuals move together;
    a HAC standard error counts the dependence between neighbouring steps (the few lags of the
    textbook bandwidth), not a drift along the whole curve, so it is larger than the standard error
    over rows but still smaller than a spread over runs would be."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        return math.inf
    x = d - d.mean()
    lags = newey_west_bandwidth(n)
    var = 0.0
    for seg in np.split(x, np.cumsum(segments)[:-1]) if segments else [x]:
        var += float(seg @ seg) + 2.0 * sum((1.0 - k / (lags + 1)) * float(seg[k:] @ seg[:-k])
                                            for k in range(1, min(lags, len(seg) - 1) + 1))
    return math.sqrt(max(var, 0.0) * n / (n - 1)) / n


def as_good(errors, residuals, i: int, j: int, *, tolerance: float = 0.02, z: float = Z, clusters=None,
            replicate: bool = REPLICATE, small_sample: bool = SMALL_SAMPLE) -> bool:
    """Law ``i`` cannot be told apart from law ``j`` (or is better): its error is within
    ``tolerance`` of ``j``'s, or its paired excess over ``j`` is within ``z`` standard errors,
    or (``replicate``) ``j`` is not better on every band both were judged on."""
    if errors[i] <= errors[j] * (1 + tolerance) + 1e-15:
        return True
    if residuals is None:
        return False
    excess, se, df = paired_test(residuals[i], residuals[j], clusters=clusters)
    if math.isfinite(excess) and excess <= (critical_value(z, df) if small_sample else z) * se:
        return True
    return replicate and not worse_on_every_band(residuals[i], residuals[j])


def worse_on_every_band(a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]]) -> bool:
    """Law ``a``'s mean squared residual is above ``b``'s on every band both were judged on (the
    forward folds: each an extrapolation from the rows below it). False when none is shared."""
    shared = [band for band, ra in a.items() if band in b and len(b[band]) == len(ra) and len(ra)]
    return bool(shared) and all(float(np.mean(_floats(a[band]) ** 2)) > float(np.mean(_floats(b[band]) ** 2))
                                for band in shared)


def admissible_first(indices: list[int], admissible: Sequence[bool] | None) -> list[int]:
    """The laws of ``indices`` that may be recommended (``admissible``), or all of them when none may."""
    return [i for i in indices if admissible is None or admissible[i]] or indices


def recommend(errors: Sequence[float], sizes: Sequence[tuple], *, residuals: Sequence[Mapping] | None = None,
              catalog: Sequence[bool] | None = None, clean: Sequence[bool] | None = None,
              tolerance: float = 0.02, z: float = Z, clusters: Mapping | None = None,
              replicate: bool = REPLICATE, small_sample: bool = SMALL_SAMPLE,
              admissible: Sequence[bool] | None = None, z_parsimony: float = Z_PARSIMONY) -> Choice:
    """The rule of the module docstring. ``sizes``: per law a sort key of its size (fewer
    constants first, then shorter); ``catalog``: which laws are published ones; ``clean``: which
    are not flagged as degenerate; ``admissible``: which may be recommended at all while one of
    them can forecast (not those that fall below zero as a scale grows); ``clusters``: the run of
    each selection row (a curve table); ``z``: the bar a discovered law must clear to replace the
    published default, ``z_parsimony``: the one within which a simpler law is as good (both in
    paired standard errors)."""
    n = len(errors)
    catalog = list(catalog) if catalog is not None else [False] * n
    clean = list(clean) if clean is not None else [True] * n

    def good(i, j, bar=z_parsimony):
        return as_good(errors, residuals, i, j, tolerance=tolerance, z=bar, clusters=clusters, replicate=replicate,
                       small_sample=small_sample)

    def pick(pool: list[int]) -> int | None:
        """The simplest law as good as the best of ``pool``, a clean one when one is as good."""
        if not pool:
            return None
        best = min(pool, key=lambda i: (errors[i], sizes[i]))
        choice = min((i for i in pool if good(i, best)), key=lambda i: (sizes[i], errors[i]))
        if not clean[choice]:
            fallback = pick([i for i in pool if clean[i]])
            if fallback is not None and good(fallback, choice):
                return fallback
        return choice

    judged = [i for i in range(n) if math.isfinite(errors[i])]
    if not judged:
        return Choice(None, reason="no law could be fitted and judged")
    usable = admissible_first(judged, admissible)
    default = pick([i for i in usable if catalog[i]])
    if default is None:
        why = ("no catalog law applies" if not any(catalog[i] for i in judged)
               else "every catalog law's forecast falls below zero as a scale grows")
        choice = Choice(pick(usable), None, [], f"{why}: the simplest law as good as the best")
    else:
        better = [i for i in usable if not catalog[i] and not good(default, i, z)]
        choice = Choice(pick(better), default, [], "a law that predicts the held-out bands significantly better "
                                                   "than the catalog law (the simplest as good as the best of them)") \
            if better else Choice(default, default, [], "the catalog law: no other law predicts the held-out bands "
                                                        "significantly better")
    if choice.recommended is not None and not clean[choice.recommended]:
        choice.reason += "; no clean law is as good, so a flagged law is recommended"
    if len(usable) < len(judged):
        choice.reason += "; laws whose forecast falls below zero as a scale grows are not recommended"
    elif admissible is not None and not any(admissible[i] for i in judged):
        choice.reason += "; every law's forecast falls below zero as a scale grows"
    best = min(judged, key=lambda i: (errors[i], sizes[i]))
    choice.as_good_as_best = [i for i in judged if good(i, best, z)]
    return choice


@dataclass
class Ranking:
    """Scored laws in order of selection error, the recommendation, the Pareto front."""

    laws: list[Scored]
    choice: Choice
    pareto: list[int]

    @property
    def recommended(self) -> int | None:
        return self.choice.recommended


def is_catalog(s: Scored) -> bool:
    return str(s.law.provenance).startswith("catalog")


def is_admissible(s: Scored) -> bool:
    """May be recommended: its forecast does not fall below zero as a scale grows."""
    return not any(f.startswith(BELOW_ZERO) for f in s.flags)


def is_clean(s: Scored) -> bool:
    """Not flagged (:mod:`discover.flags`): converged, identifiable, no constant at a bound ..."""
    return s.clean


def rank(scored: list[Scored], log_space: bool, *, tolerance: float = 0.02, clusters: Mapping | None = None) -> Ranking:
    """Sort (clean laws first, then flagged ones, each by selection error: held-out bands if any,
    else BIC), recommend, Pareto front. ``clusters``: band -> the run of each of its rows, on a
    curve table (:func:`discover.splits.band_clusters`)."""
    judged = any((s.metrics.get(SELECT) or {}).get("n") for s in scored)

    def sel_error(s: Scored) -> float:
        if not s.ok or NO_FORECAST in s.flags:  # a law that cannot forecast the asked-for rows is not a candidate
            return math.inf
        if judged:
            return selection_error(s.metrics, log_space)
        return s.bic if math.isfinite(s.bic) else math.inf

    order = sorted(range(len(scored)), key=lambda i: (not is_clean(scored[i]), sel_error(scored[i]),
                                                      scored[i].law.complexity, scored[i].law.name))
    ranked = [scored[i] for i in order]
    errs = [sel_error(s) for s in ranked]
    cx = [s.law.complexity for s in ranked]
    sizes = [(s.law.n_constants, s.law.complexity) for s in ranked]
    if judged:
        choice = recommend(errs, sizes, residuals=[selection_residuals(s.metrics) for s in ranked],
                           catalog=[is_catalog(s) for s in ranked], clean=[is_clean(s) for s in ranked],
                           admissible=[is_admissible(s) for s in ranked], tolerance=tolerance, clusters=clusters)
    else:
        finite = [i for i, e in enumerate(errs) if math.isfinite(e)]
        usable = admissible_first(finite, [is_admissible(s) for s in ranked])
        choice = Choice(usable[0] if usable else None, reason="no held-out rows: the lowest BIC on the fitted rows")
    return Ranking(ranked, choice, pareto_front(list(zip(errs, cx))))


def selection_residuals(m: dict) -> dict:
    """The per-row residuals on the selection bands, {band: values}, for :func:`paired_excess`."""
    return dict((m.get(SELECT) or {}).get("residuals") or {})


def selection_error(m: dict, log_space: bool) -> float:
    """The number laws are chosen by: the error pooled over the selection bands."""
    e = error_of(m.get(SELECT), log_space)
    return math.inf if math.isnan(e) else e


def _floats(values: Sequence) -> np.ndarray:
    """Residuals as floats; those read back from JSON may carry 'inf'/'nan' as text."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            out[i] = math.nan
    return out
