"""Scoring: every candidate law refit and measured by one protocol.

Why one module: published laws, a user's formulas and the engines' proposals
must be compared on equal terms, so ``fit()``, ``discover()`` and the bench all
score through :func:`score_candidates`, and a law's protocol is
:func:`score_candidate`:

- *selection fit* on train rows only -> validation metrics (used to choose);
  a *backtest* fit below the band under validation -> backtest metrics
  (reported beside them);
- *final fit* on train + validation rows -> train and test metrics, bootstrap
  intervals, forecast at the largest test point. Test rows are never fitted on
  and never used to choose.

A store (the checkpoint) can be handed to :func:`score_candidates` and
:func:`bootstrap_best`: laws it already holds are not refit, and each newly
scored law is given to it as soon as it exists.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Protocol, Sequence

import numpy as np

from .candidate import Candidate, as_candidate
from .data import Dataset
from .errors import DataError
from .fitting import fit_law
from .flags import fit_flags
from .law import Law
from .options import FitOptions
from .result import NO_FORECAST, Scored, bootstrap_predictions
from .score import bic, metrics
from .splits import BACKTEST, SELECT, TEST, TRAIN, VAL, Split
from .workers import Workers, each


class ScoreStore(Protocol):
    """Where finished scoring work is kept (the checkpoint implements it)."""

    def get_scored(self, law: Law, boot: bool = False) -> Scored | None: ...

    def record_scored(self, law: Law, scored: Scored, boot: bool = False) -> None: ...


def per_group(dataset: Dataset, split: Split) -> bool:
    """Constants are fitted per group unless the split leaves a whole group out."""
    return dataset.group is not None and split.kind != "leave-group-out"


def shared_for(law: Law, shared: Sequence[str]) -> list[str]:
    """The constants of ``law`` that are one value across groups: those named in ``shared``
    that it has, and those it says are shared itself."""
    return sorted({*[c for c in shared if c in law.params], *law.shared})


def score_candidate(candidate: Candidate | Law, dataset: Dataset, split: Split, options: FitOptions, *,
                    published: bool = False, bootstrap: int | None = None, max_starts: int | None = None) -> Scored:
    """Fit (or take published constants) and score one law on every split.

    ``bootstrap`` (default: the options') resamples of the final fit give intervals.
    """
    cand = as_candidate(candidate)
    law = cand.law
    B = options.bootstrap if bootstrap is None else bootstrap
    y = dataset.y
    log_space = dataset.target_positive
    groups_all = dataset.groups
    grouped = per_group(dataset, split)
    shared = shared_for(law, options.shared) if grouped else ()
    kw = dict(delta=options.delta, seed=options.seed, log_space=log_space, shared=shared,
              group_name=dataset.group if grouped else None)
    if max_starts:
        kw["max_starts"] = max_starts
    pub = law.published
    extra_starts = ([cand.start] if cand.start is not None else []) + ([pub] if pub else [])
    w_all = dataset.weights

    runs = dataset.runs

    def fit_on(rows, boot=0, quick=False, warm=None):
        return fit_law(law, dataset.X(rows), y[rows], groups=groups_all[rows] if grouped else None,
                       weights=None if w_all is None else w_all[rows], bootstrap=boot, starts=extra_starts,
                       quick=quick, warm=warm, clusters=None if runs is None else runs[rows], **kw)

    def predict(fitted: Law, rows):
        return fitted.predict(dataset.X(rows), groups=groups_all[rows] if grouped else None)

    val, test, fit_rows = split.rows(VAL), split.rows(TEST), split.fit_rows
    m: dict = {}
    if published:
        if pub is None:
            raise DataError(f"law {law.name} has no published constants; drop --published or pick a law that has them")
        if grouped:
            fitted = law.with_constants({g: dict(pub) for g in np.unique(groups_all)}, group=dataset.group)
        else:
            fitted = law.with_constants(dict(pub))
        for name, rows in ((TRAIN, fit_rows), (VAL, val), (TEST, test)):
            m[name] = metrics(y[rows], predict(fitted, rows)) if len(rows) else {"n": 0}
        res_scored = Scored(fitted, m, True, "ok", "published constants, not refit", mode="published")
        res_scored.bic = bic(_residuals(y[fit_rows], predict(fitted, fit_rows), log_space), law.n_constants)
        return res_scored
    warm = None
    try:
        if split.folds:
            out = _selection(cand, dataset, split, grouped, shared, fit_on, predict)
            if isinstance(out, str):
                return _failed(law, out)
            bands, warm = out
            m.update(bands)
        if VAL not in m:
            m[VAL] = {"n": 0}
        final = fit_on(fit_rows, B, warm=warm)
    except DataError as err:
        return _failed(law, str(err))
    if final.law.constants is None:
        return _failed(law, f"fit failed: {final.message}")
    fitted = final.law
    pred_fit = predict(fitted, fit_rows)
    m[TRAIN] = metrics(y[fit_rows], pred_fit)
    pred_test = predict(fitted, test) if len(test) else np.zeros(0)
    m[TEST] = metrics(y[test], pred_test) if len(test) else {"n": 0}
    k = law.n_constants * (len(np.unique(groups_all[fit_rows])) if grouped else 1)
    if grouped and shared:
        k -= len(shared) * (len(np.unique(groups_all[fit_rows])) - 1)
    scored = Scored(fitted, m, final.converged, "ok", final.message,
                    bic=bic(_residuals(y[fit_rows], pred_fit, log_space), k),
                    intervals=final.intervals, samples=final.samples, at_bounds=final.at_bounds)
    scored.flags = fit_flags(fitted, fitted.constants, dataset.X(fit_rows),
                             positive_target=log_space, groups=groups_all[fit_rows] if grouped else None,
                             reported_bounds=final.at_bounds, converged=final.converged, message=final.message)
    if not np.all(np.isfinite(pred_fit)):
        scored.status = "failed: non-finite predictions on the fitted rows"
    n_bad = int(np.sum(~np.isfinite(pred_test) | ((pred_test <= 0) if log_space else False)))
    if n_bad:
        # a forecast the law cannot make is no forecast: judged on the test rows' inputs alone
        scored.flags.append(NO_FORECAST)
        scored.message = "; ".join(filter(None, [scored.message, f"no usable prediction on {n_bad} of {len(test)} "
                                                                  "test rows (outside the law's domain)"]))
    if len(test) and B:
        scored.forecast = forecast_at_largest(scored, dataset, test, grouped)
    return scored


def _selection(cand: Candidate, dataset: Dataset, split: Split, grouped: bool, shared, fit_on, predict):
    """Each selection fold's metrics, and their pooled residuals under ``select``: fit below
    each band (or without each top row), predict it. Returns (metrics by band, warm start for
    the final fit), or the reason the law failed on the nearest band."""
    law, y, log_space = cand.law, dataset.y, dataset.target_positive
    out, pooled_y, pooled_p, residuals, warm = {}, [], [], {}, None
    for i, fold in enumerate(split.folds):
        ys, ps = [], []
        for fit_rows, eval_rows in fold.pieces:
            if i > 0 and grouped and not _spare_rows(dataset, fit_rows, law.n_constants - len(shared)):
                break
            # an engine's per-group solution on these same rows, when it handed one (grammar, grouped)
            start = {VAL: cand.group_starts, BACKTEST: cand.group_starts_backtest}.get(fold.name) if grouped else None
            try:
                sel = fit_on(fit_rows, quick=True, warm=start)
            except DataError:
                if i == 0:
                    raise
                break  # too few rows (in some group) below a deeper band: it says nothing of this law
            if sel.law.constants is None:
                if i == 0:
                    return f"fit failed: {sel.message}"
                ps.append(np.full(len(eval_rows), np.inf))
            else:
                ps.append(predict(sel.law, eval_rows))
                if i == 0 and grouped:
                    # one fit per group is the cost of grouped laws: the final fit (train + val rows)
                    # polishes each group's selection-fit solution instead of searching again
                    warm = sel.law.constants
            ys.append(y[eval_rows])
        else:
            yy, pp = np.concatenate(ys), np.concatenate(ps)
            out[fold.name] = _band_metrics(yy, pp, log_space)
            residuals[fold.name] = out[fold.name]["residuals"]
            pooled_y.append(yy)
            pooled_p.append(pp)
    if pooled_y:
        sel = metrics(np.concatenate(pooled_y), np.concatenate(pooled_p))
        out[SELECT] = {**sel, "bands": {k: len(v) for k, v in residuals.items()}, "residuals": residuals}
    return out, warm


def _spare_rows(dataset: Dataset, rows, local: int) -> bool:
    """Every group keeps at least two rows per constant of its own below a deeper band: with fewer,
    a fit mostly measures how unstable a fit on too few rows is, not how the form extrapolates
    (and it says nothing at all once the rows are interpolated exactly)."""
    _, counts = np.unique(dataset.groups[rows], return_counts=True)
    return bool(len(counts)) and counts.min() >= 2 * local


def score_safely(candidate: Candidate | Law, dataset: Dataset, split: Split, options: FitOptions, **kw) -> Scored:
    """:func:`score_candidate` that never raises on numbers: a numerical error (also under
    np.seterr(all='raise')) fails this candidate with its reason, and the run goes on."""
    try:
        with np.errstate(all="ignore"):
            return score_candidate(candidate, dataset, split, options, **kw)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as err:
        first = str(err).splitlines()[0] if str(err) else ""
        return _failed(as_candidate(candidate).law, f"numerical error: {type(err).__name__}: {first}")


def score_candidates(candidates: Sequence[Candidate | Law], dataset: Dataset, split: Split, options: FitOptions, *,
                     published: bool = False, bootstrap: int | None = None, store: ScoreStore | None = None,
                     stop=None, progress: Callable | None = None, warnings: list | None = None,
                     workers: Workers | None = None) -> list[Scored]:
    """Fit and score each candidate, in order; failures are kept with their reason, never raised.

    ``store`` keeps and gives back scored laws; once ``stop`` is set, the loop ends
    after the current law; ``warnings`` collects a line for each law that failed.
    ``workers`` (:class:`~discover.workers.Workers` holding ``(dataset, split, options)``)
    score the laws the store does not hold, all sent at once and taken in order (those
    not taken when ``stop`` is set are cancelled); the results are the ones one process gives.
    """
    items = [as_candidate(item) for item in candidates]
    held = [store.get_scored(c.law) if store is not None else None for c in items]
    fresh = each(_score_job, (dataset, split, options),
                 [(c, published, bootstrap) for c, s in zip(items, held) if s is None], workers)
    out = []
    try:
        for i, (cand, s) in enumerate(zip(items, held)):
            if stop:
                break
            if s is None:
                s = next(fresh)
                if store is not None:
                    store.record_scored(cand.law, s)
            if not s.ok and warnings is not None:
                warnings.append(f"{cand.law.name}: {s.status}")
            out.append(s)
            if progress:
                progress(i + 1, len(items), s)
    finally:
        fresh.close()
    return out


def _score_job(context, job) -> Scored:
    """One law scored by a worker holding ``(dataset, split, options)``."""
    dataset, split, options = context
    cand, published, bootstrap = job
    return score_safely(cand, dataset, split, options, published=published, bootstrap=bootstrap)


def add_bootstrap(scored: Scored, dataset: Dataset, split: Split, options: FitOptions,
                  until: float | None = None) -> Scored:
    """Bootstrap intervals for an already scored law: its metrics stay, its final fit is
    resampled (rows within groups, whole runs of a curve table) and refit warm from its own
    constants; no refit begins after ``until`` (a monotonic time)."""
    law = scored.law
    if not scored.ok or law.constants is None or options.bootstrap <= 0:
        return scored
    out_of_time = dataclasses.replace(scored, message="; ".join(filter(None, [scored.message,
                                                                             "bootstrap: no time left for resamples"])))
    if until is not None and time.monotonic() >= until:  # not even the warm refit the draws start from
        return out_of_time
    grouped = per_group(dataset, split)
    shared = shared_for(law, options.shared) if grouped else ()
    rows = split.fit_rows
    base = dataclasses.replace(law, constants=None)
    try:
        with np.errstate(all="ignore"):
            final = fit_law(base, dataset.X(rows), dataset.y[rows],
                            groups=dataset.groups[rows] if grouped else None,
                            weights=None if dataset.weights is None else dataset.weights[rows],
                            delta=options.delta, seed=options.seed, log_space=dataset.target_positive, shared=shared,
                            group_name=dataset.group if grouped else None, bootstrap=options.bootstrap,
                            warm=law.constants, clusters=None if dataset.runs is None else dataset.runs[rows],
                            bootstrap_until=until)
    except (DataError, ArithmeticError, ValueError, np.linalg.LinAlgError) as err:
        scored.message = "; ".join(filter(None, [scored.message, f"bootstrap failed: {err}"]))
        return scored
    if draws_used(final) < 2:  # its share of the time allowed fewer than two resamples: no interval
        return out_of_time
    out = dataclasses.replace(scored, intervals=final.intervals, samples=final.samples)
    test = split.rows(TEST)
    if len(test):
        out.forecast = forecast_at_largest(out, dataset, test, grouped)
    return out


def draws_used(scored) -> int:
    """Bootstrap resamples a law's intervals rest on (per group: the fewest)."""
    samples = scored.samples or {}
    if not samples:
        return 0
    first = next(iter(samples.values()))
    if isinstance(first, dict):  # per group
        return min((len(next(iter(g.values()), [])) for g in samples.values()), default=0)
    return len(first)


def bootstrap_best(ranked: list[Scored], recommended: int | None, dataset: Dataset, split: Split,
                   options: FitOptions, n_top: int, *, store: ScoreStore | None = None, stop=None,
                   until: float | None = None, workers: Workers | None = None) -> list[Scored]:
    """The ranking with bootstrap intervals added to its best ``n_top`` laws and the recommended one
    (the recommended first); with ``until`` (a monotonic time) each law gets an equal share of
    the time left, and keeps the draws done in it. ``workers`` resample several laws at once."""
    out = list(ranked)
    top = set(range(min(n_top, len(out))))
    order = sorted(top - {recommended})
    if recommended is not None:
        order.insert(0, recommended)
    todo = []
    for i in order:
        s = store.get_scored(out[i].law, boot=True) if store is not None else None
        if s is None:
            todo.append(i)
        else:
            out[i] = s
    width = 1 if workers is None else workers.size
    for at in range(0, len(todo), width):
        if stop:
            break
        chunk = todo[at:at + width]
        rounds_left = -(-(len(todo) - at) // width)
        seconds = None if until is None else max(0.0, until - time.monotonic()) / rounds_left
        done = each(_bootstrap_job, (dataset, split, options), [(out[i], seconds) for i in chunk], workers)
        for i, s in zip(chunk, done):
            if store is not None:
                store.record_scored(out[i].law, s, boot=True)
            out[i] = s
    return out


def _bootstrap_job(context, job) -> Scored:
    """One law's bootstrap, by a worker holding ``(dataset, split, options)``; ``seconds`` (its
    share of the time left, or None) is turned into a deadline on the worker's own clock."""
    dataset, split, options = context
    scored, seconds = job
    return add_bootstrap(scored, dataset, split, options,
                         until=None if seconds is None else time.monotonic() + seconds)


def _band_metrics(y, pred, log_space) -> dict:
    """Metrics on the validation band, with the per-row residuals (log space for a positive
    target) kept so that laws can be compared row by row (:func:`discover.select.recommend`)."""
    m = metrics(y, pred)
    m["residuals"] = [float(r) for r in _residuals(y, pred, log_space)]
    return m


def _residuals(y, pred, log_space):
    with np.errstate(all="ignore"):
        return np.log(pred) - np.log(y) if log_space else pred - y


def _failed(law: Law, why: str) -> Scored:
    return Scored(law, {}, False, f"failed: {why}", why)


def largest_test_row(dataset: Dataset, test_rows: np.ndarray) -> np.ndarray:
    """The test run of largest scale (the product of its positive features), as a one-row index."""
    X = dataset.X(test_rows)
    scale = np.ones(len(test_rows))
    for v in X.values():
        scale = scale * np.where(v > 0, v, 1.0)
    i = int(np.argmax(scale))
    return test_rows[i : i + 1]


def forecast_at_largest(scored: Scored, dataset: Dataset, test_rows: np.ndarray, grouped: bool) -> dict | None:
    """Prediction and 95 % bootstrap interval at the largest-scale test run."""
    row = largest_test_row(dataset, test_rows)
    Xi = dataset.X(row)
    g = dataset.groups[row] if grouped else None
    pred = float(scored.law.predict(Xi, groups=g)[0])
    out = {"row": {k: float(v[0]) for k, v in Xi.items()}, "observed": float(dataset.y[row][0]), "prediction": pred}
    if g is not None:
        out["group"] = str(g[0])
    draws = bootstrap_predictions(scored, Xi, g)
    if draws is not None and len(draws) > 1:
        col = draws[:, 0][np.isfinite(draws[:, 0])]
        if len(col) > 1:
            lo, hi = np.quantile(col, [0.025, 0.975])
            out["interval"] = [float(lo), float(hi)]
    return out


def forecast_spread(laws: Sequence[Scored], recommended: int | None, peers: Sequence[int], dataset: Dataset,
                    split: Split, log_space: bool) -> dict | None:
    """Do the laws the held-out rows cannot tell apart agree where it matters?

    At the largest test run: the recommended law's forecast (and its bootstrap interval, when it
    has one) beside the forecasts of every law as good as the best (``peers``). They *pin the
    extrapolation down* when every peer's forecast lies inside the interval or, without one, when
    their half-range is within the recommended law's own error on the held-out bands (the error it
    showed when it last extrapolated); otherwise the runs leave the forecast open, and the output
    says so.
    """
    test = split.rows(TEST)
    if recommended is None or not len(test):
        return None
    row = largest_test_row(dataset, test)
    grouped = per_group(dataset, split)
    Xi, g = dataset.X(row), (dataset.groups[row] if grouped else None)
    preds = {}
    for i in dict.fromkeys([recommended, *peers]):
        with np.errstate(all="ignore"):
            p = float(laws[i].law.predict(Xi, groups=g)[0])
        if math.isfinite(p) and (p > 0 or not log_space):
            preds[laws[i].law.name] = p
    rec = laws[recommended]
    name = rec.law.name
    if name not in preds:
        return None
    lo, hi = min(preds.values()), max(preds.values())
    out = {"row": {k: float(v[0]) for k, v in Xi.items()}, "recommended": preds[name], "laws": preds,
           "range": [lo, hi]}
    if g is not None:
        out["group"] = str(g[0])
    interval = (rec.forecast or {}).get("interval")
    if interval:
        out["interval"] = interval
        pinned = interval[0] <= lo and hi <= interval[1]
    else:
        err = (rec.metrics.get(SELECT) or {}).get("rmse_log" if log_space else "rmse")
        half = (math.log(hi) - math.log(lo)) / 2 if log_space else (hi - lo) / 2
        pinned = err is not None and math.isfinite(float(err)) and half <= float(err)
    out["pinned"] = bool(pinned)
    return out


#: Two laws whose predictions on every row of the table agree this closely (relative) are one function.
SAME_FUNCTION = 1e-4


def merge_same_functions(scored: list[Scored], dataset: Dataset, split: Split) -> list[Scored]:
    """One entry per function: laws whose fitted predictions agree on every row of the table (to
    :data:`SAME_FUNCTION`) are merged into a clean one before a flagged one, then the one with the
    fewest constants (the rows cannot tell what the others' extra constants do), a catalog law before
    a discovered one, then the shorter formula; the others' names go to its ``also``. A discovered law
    that is a catalog law in disguise is thus reported as that catalog law, found again."""
    grouped = per_group(dataset, split)
    X, g = dataset.X(), (dataset.groups if grouped else None)
    order = sorted(range(len(scored)), key=lambda i: (not scored[i].ok, not scored[i].clean,
                                                      scored[i].law.n_constants,
                                                      not str(scored[i].law.provenance).startswith("catalog"),
                                                      scored[i].law.complexity, i))
    kept: list[tuple[int, np.ndarray | None]] = []
    merged: dict[int, int] = {}
    for i in order:
        s = scored[i]
        pred = None
        if s.ok and s.law.constants is not None:
            with np.errstate(all="ignore"):
                try:
                    pred = np.asarray(s.law.predict(X, groups=g), float)
                except DataError:
                    pred = None
            if pred is not None and not np.all(np.isfinite(pred)):
                pred = None
        if pred is not None:
            twin = next((j for j, q in kept if q is not None and
                         np.all(np.abs(pred - q) <= SAME_FUNCTION * np.maximum(np.abs(q), 1e-12))), None)
            if twin is not None:
                merged[i] = twin
                continue
        kept.append((i, pred))
    out = []
    for i, s in enumerate(scored):
        if i in merged:
            continue
        twins = [scored[k].law.name for k, j in merged.items() if j == i]
        out.append(dataclasses.replace(s, also=[*s.also, *twins]) if twins else s)
    return out


def check_rows(dataset: Dataset, split: Split, laws: Sequence[Law]) -> None:
    """Enough training rows (and distinct ones, in every group) for the simplest of ``laws``."""
    train = split.rows(TRAIN)
    k = min(law.n_constants for law in laws)
    if not per_group(dataset, split):
        if len(train) < k:
            raise DataError(f"only {len(train)} training rows for a law with {k} constants")
        X = np.column_stack([dataset.frame[c].to_numpy(dtype=float) for c in dataset.features])[train]
        distinct = len(np.unique(X, axis=0))
        if distinct < k:
            raise DataError(f"only {distinct} distinct training rows (the other {len(train) - distinct} repeat them) "
                            f"for a law with {k} constants")
        return
    g = dataset.groups[train]
    labels, counts = np.unique(g, return_counts=True)
    all_groups = np.unique(dataset.groups)
    missing = sorted(set(all_groups) - set(labels))
    if missing:
        raise DataError(f"group {missing[0]!r} has no training rows, so its constants cannot be fitted")
    small = [(lab, c) for lab, c in zip(labels, counts) if c < k]
    if small:
        lab, c = small[0]
        raise DataError(f"group {lab!r} has {c} training rows, fewer than the {k} constants of the simplest law")
