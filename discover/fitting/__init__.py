"""Robust constant fitting, the same procedure for every law (the fitting stage).

    from discover.fitting import fit_law
    res = fit_law(law, {"params": N, "tokens": D}, loss)      # FitResult: res.law has the constants

The package is layered one way, each module importing only those before it:
:mod:`~.compile` (a law as numeric pieces, cached), :mod:`~.solver` (the fitter
of one block of rows: variable projection, multi-start, robust polish),
:mod:`~.joint` (shared constants over groups), :mod:`~.bootstrap`,
:mod:`~.single` and :mod:`~.grouped` (one block, or one per group), and this
entry point, which validates the call and picks one of the last two. Nothing
here imports from the stages above fitting (scoring, selection, engines).
Everything is deterministic for a seed.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..errors import DataError
from ..law import Law
from .compile import Compiled, compile_law, scale_constants
from .grouped import fit_grouped
from .single import fit_single
from .solver import MAX_STARTS, Effort, FitResult, Rows, default_delta, huber_cost

__all__ = ["fit_law", "FitResult", "compile_law", "scale_constants", "Compiled", "default_delta", "huber_cost", "MAX_STARTS"]


def fit_law(
    law: Law,
    X: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    group_name: str | None = None,
    shared: Sequence[str] = (),
    weights: np.ndarray | None = None,
    delta: float | None = None,
    log_space: bool | None = None,
    seed: int = 0,
    max_starts: int = MAX_STARTS,
    bootstrap: int = 0,
    starts: Sequence[Mapping[str, float]] = (),
    quick: bool = False,
    warm: Mapping | None = None,
    clusters: np.ndarray | None = None,
    bootstrap_until: float | None = None,
) -> FitResult:
    """Fit ``law`` to rows ``X`` (column name → array) and target ``y``.

    ``log_space=None`` picks log residuals when every target is positive.
    ``groups`` (one label per row) fits constants per group; names in ``shared``
    are one value across groups. ``starts`` adds initial constant sets (e.g. the
    published constants) to the multi-start grid. ``warm`` is a solution of a
    nearby problem (the same law fitted on fewer rows: constants, or group →
    constants): the fit is then a robust polish from it, without the grid.
    ``quick`` (selection fits) searches a smaller grid and refines fewer starts.
    ``bootstrap`` > 0 adds percentile intervals from that many resampled refits; with ``clusters``
    (one label per row: the run each evaluation of a curve table belongs to) a draw resamples
    whole clusters, since the points of one curve are not independent runs. No bootstrap refit
    begins after ``bootstrap_until`` (a monotonic time): the draws done by then are kept.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if quick:  # selection fits: a smaller grid and fewer refinements; the final refit uses full effort
        max_starts = min(max_starts, 12)
    cols = []
    for v in law.variables:
        if v not in X:
            raise DataError(f"law {law.name} needs column {v!r}, which is not among the features")
        cols.append(np.asarray(X[v], dtype=float))
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if log_space is None:
        log_space = bool(np.all(y > 0))
    elif log_space and np.any(y <= 0):
        raise DataError("log residuals need a positive target, but the target has values <= 0")
    delta = default_delta(log_space) if delta is None else float(delta)
    if not delta > 0:
        raise DataError(f"Huber delta must be positive, got {delta}")
    unknown = set(shared) - set(law.params)
    if unknown:
        raise DataError(f"shared constants {sorted(unknown)} are not constants of law {law.name}")
    comp = compile_law(law, shared=() if groups is None else shared)
    effort = Effort(seed=seed, max_starts=max_starts, starts=tuple(starts), quick=quick, warm=warm,
                    bootstrap=bootstrap, bootstrap_until=bootstrap_until)
    # overflow and 0/0 on the way to a fit are expected (trial exponents far off): the fitter turns
    # them into large residuals, so numpy's warnings would only be noise
    with np.errstate(all="ignore"):
        if groups is None:
            if n < law.n_constants:
                raise DataError(f"law {law.name} has {law.n_constants} constants but only {n} training rows")
            rows = Rows(cols, y, w, log_space, None)
            rows.clusters = None if clusters is None else np.asarray(clusters)
            return fit_single(law, comp, rows, delta, effort)
        return fit_grouped(law, comp, cols, y, w, groups, shared=shared, delta=delta, log_space=log_space,
                           effort=effort, group_name=group_name, clusters=clusters)
