"""The pipeline: table → Dataset → Split → candidate laws → refit → score → select → Result.

``fit`` scores fixed laws (catalog names, formula strings, Law objects);
``discover`` (in :mod:`discover.search`) adds engine-proposed candidates and
then calls the same :func:`score_candidates`, so published and discovered laws
are refit and scored by one procedure.

Protocol, per law:
- *selection fit* on train rows only → validation metrics (used to choose);
- *final fit* on train + validation rows → train and test metrics, bootstrap
  intervals, forecast at the largest test point. Test rows are never fitted on
  and never used to choose.
"""

from __future__ import annotations

import dataclasses

import math
import time
from typing import Callable, Mapping, Sequence

import numpy as np

from . import catalog
from .data import Dataset, check_positive_for_law, load_dataset, read_table
from .errors import DataError
from .fit import fit_law
from .formula import symbol_name
from .law import Law
from .result import Result, Scored, bootstrap_predictions
from .score import bic, error_of, metrics
from .select import pareto_front, recommend
from .splits import TEST, TRAIN, VAL, Split, make_split

BACKTEST = "backtest"
# selection bands and their weights. Only the validation band, the one closest to the test rows:
# the backtest fit has fewer rows, and on the synthetic suite weighting it in (2:1) kept true
# forms whose constants need those rows (an effective-precision γ, a rectified-SFT offset) from
# being chosen; it is reported, not chosen on.
SELECTION_WEIGHTS = {VAL: 1.0}


def prepare(data, *, target, features, group=None, weight=None, split=None, derive=None, seed=0,
            val_frac=0.15, name=None) -> tuple[Dataset, Split]:
    """Load and validate the table, then split it. Columns a split needs (a split
    column, a scale column, a flops column) are carried along with the features."""
    frame, default_name = read_table(data)
    wanted = ["flops", "compute", "train_flops"]
    if isinstance(split, str) and split.startswith("column:"):
        wanted.append(split.split(":", 1)[1] or "split")
    if isinstance(split, str) and split.startswith("largest:"):
        wanted.append(split[len("largest:"):].rpartition(":")[0])
    keep = [c for c in dict.fromkeys(wanted) if c in frame.columns and c not in (target, group)]
    ds = load_dataset(frame, target=target, features=features, group=group, weight=weight, derive=derive,
                      keep=keep, name=name or default_name)
    return ds, make_split(ds, split, seed=seed, val_frac=val_frac)


def resolve_laws(laws, dataset: Dataset, *, bind: Mapping[str, str] | None = None, explicit_only=False) -> list[Law]:
    """Turn catalog names, formula strings and Law objects into laws over the table's columns."""
    feats = [symbol_name(f) for f in dataset.features]
    if laws is None or laws == [] or laws == "all":
        out = catalog.applicable(dataset.features, target=dataset.target)
        return [law for law in out if _positive_ok(dataset, law)]
    if isinstance(laws, (str, Law)):
        laws = [laws]
    out = []
    for item in laws:
        if isinstance(item, Law):
            missing = [v for v in item.variables if v not in feats]
            law = item
            if missing:
                law = catalog.bind(item, dataset.features, bind)
            out.append(law)
            continue
        if not isinstance(item, str):
            raise DataError(f"a law must be a catalog name, a formula string or a Law, got {type(item).__name__}")
        text = item.strip()
        if text in catalog.names():
            out.append(catalog.bind(catalog.get(text), dataset.features, bind))
        elif _looks_like_name(text):
            catalog.get(text)  # raises a DataError with close matches
        else:
            out.append(formula_law(text, dataset))
    for law in out:
        check_positive_for_law(dataset, law)
    return out


def _looks_like_name(text: str) -> bool:
    return text.replace("_", "").replace("-", "").isalnum() and not any(ch in text for ch in "+-*/^()")


def formula_law(text: str, dataset: Dataset) -> Law:
    """A user formula: variables are the feature columns it mentions, constants the rest."""
    from .formula import parse_formula

    expr = parse_formula(text, name="law")
    names = {str(s) for s in expr.free_symbols}
    feats = [symbol_name(f) for f in dataset.features]
    used = [f for f in feats if f in names]
    if not used:
        raise DataError(f"law {text!r} uses none of the features {dataset.features}")
    return Law.from_formula(expr, used, name=text, provenance="user formula")


def _positive_ok(dataset: Dataset, law: Law) -> bool:
    try:
        check_positive_for_law(dataset, law)
        return True
    except DataError:
        return False


# --------------------------------------------------------------------------- scoring
def score_law(law: Law, dataset: Dataset, split: Split, *, published=False, delta=None, seed=0,
              bootstrap=0, shared=(), starts=(), max_starts=None) -> Scored:
    """Fit (or take published constants) and score one law on every split."""
    y = dataset.y
    log_space = dataset.target_positive
    groups_all = dataset.groups
    per_group = dataset.group is not None and split.kind != "leave-group-out"
    shared = sorted({*shared, *law.shared}) if per_group else ()
    kw = dict(delta=delta, seed=seed, log_space=log_space, shared=shared if per_group else (),
              group_name=dataset.group if per_group else None)
    if max_starts:
        kw["max_starts"] = max_starts
    pub = law.published
    extra_starts = list(starts) + ([pub] if pub else [])
    w_all = dataset.weights

    def fit_on(rows, B=0, quick=False, warm=None):
        return fit_law(law, dataset.X(rows), y[rows], groups=groups_all[rows] if per_group else None,
                       weights=None if w_all is None else w_all[rows], bootstrap=B, starts=extra_starts,
                       quick=quick, warm=warm, **kw)

    def predict(fitted: Law, rows):
        return fitted.predict(dataset.X(rows), groups=groups_all[rows] if per_group else None)

    train, val, test, fit_rows = split.rows(TRAIN), split.rows(VAL), split.rows(TEST), split.fit_rows
    m: dict = {}
    if published:
        if pub is None:
            raise DataError(f"law {law.name} has no published constants; drop --published or pick a law that has them")
        if per_group:
            fitted = law.with_constants({g: dict(pub) for g in np.unique(groups_all)}, group=dataset.group)
        else:
            fitted = law.with_constants(dict(pub))
        for name, rows in ((TRAIN, fit_rows), (VAL, val), (TEST, test)):
            m[name] = metrics(y[rows], predict(fitted, rows)) if len(rows) else {"n": 0}
        res_scored = Scored(fitted, m, True, "ok", "published constants, not refit", mode="published")
        res_scored.bic = bic(_residuals(y[fit_rows], predict(fitted, fit_rows), log_space), law.n_constants)
        return res_scored
    warm = None
    # an engine's per-group solution on these training rows, when it handed one (grammar, grouped)
    engine_warm = law.extra.get("start_groups") if per_group else None
    try:
        if len(val):
            sel = fit_on(train, quick=True, warm=engine_warm)
            if sel.law.constants is None:
                return _failed(law, f"fit failed: {sel.message}")
            m[VAL] = _band_metrics(y[val], predict(sel.law, val), log_space)
            if per_group:
                # one fit per group is the cost of grouped laws: the final fit (train + val rows)
                # polishes each group's selection-fit solution instead of searching again
                warm = sel.law.constants
            bt_fit, bt_eval = split.backtest if split.has_backtest else ((), ())
            if per_group and len(bt_fit):
                # a backtest fit with fewer spare rows than constants in some group mostly
                # measures how unstable a fit on too few rows is, not how the form extrapolates
                # (and it stops saying anything at all when the rows are interpolated exactly):
                # no backtest is reported for this law then
                local = law.n_constants - len(shared)
                _, counts = np.unique(groups_all[bt_fit], return_counts=True)
                if counts.min() < 2 * local:
                    bt_fit = ()
            if len(bt_fit):
                try:  # warm only from a solution on these same rows, never one that saw the band
                    bt = fit_on(bt_fit, quick=True, warm=law.extra.get("start_groups_backtest") if per_group else None)
                except DataError:  # too few rows (in some group) below the backtest band: no backtest here
                    bt = None
                if bt is not None:
                    m[BACKTEST] = (metrics(y[bt_eval], predict(bt.law, bt_eval)) if bt.law.constants is not None
                                   else {"n": int(len(bt_eval)), "rmse_log": math.inf, "rmse": math.inf})
        else:
            m[VAL] = {"n": 0}
        final = fit_on(fit_rows, bootstrap, warm=warm)
    except DataError as err:
        return _failed(law, str(err))
    if final.law.constants is None:
        return _failed(law, f"fit failed: {final.message}")
    fitted = final.law
    pred_fit = predict(fitted, fit_rows)
    m[TRAIN] = metrics(y[fit_rows], pred_fit)
    pred_test = predict(fitted, test) if len(test) else np.zeros(0)
    m[TEST] = metrics(y[test], pred_test) if len(test) else {"n": 0}
    k = law.n_constants * (len(np.unique(groups_all[fit_rows])) if per_group else 1)
    if per_group and shared:
        k -= len(shared) * (len(np.unique(groups_all[fit_rows])) - 1)
    scored = Scored(fitted, m, final.converged, "ok", final.message,
                    bic=bic(_residuals(y[fit_rows], pred_fit, log_space), k),
                    intervals=final.intervals, samples=final.samples, at_bounds=final.at_bounds)
    if not np.all(np.isfinite(pred_fit)):
        scored.status = "failed: non-finite predictions on the fitted rows"
    n_bad = int(np.sum(~np.isfinite(pred_test)))
    if n_bad:
        scored.message = "; ".join(filter(None, [scored.message, f"non-finite predictions on {n_bad} of {len(test)} test rows"]))
    if len(test) and bootstrap:
        scored.forecast = forecast_at_largest(scored, dataset, test, per_group)
    return scored


def add_bootstrap(scored: Scored, dataset: Dataset, split: Split, *, bootstrap: int, delta=None, seed=0,
                  shared=()) -> Scored:
    """Bootstrap intervals for an already scored law: its metrics stay, its final fit is
    resampled (rows within groups) and refit warm from its own constants."""
    law = scored.law
    if not scored.ok or law.constants is None or bootstrap <= 0:
        return scored
    per_group = dataset.group is not None and split.kind != "leave-group-out"
    shared = sorted({*shared, *law.shared}) if per_group else ()
    rows = split.fit_rows
    base = dataclasses.replace(law, constants=None)
    try:
        with np.errstate(all="ignore"):
            final = fit_law(base, dataset.X(rows), dataset.y[rows],
                            groups=dataset.groups[rows] if per_group else None,
                            weights=None if dataset.weights is None else dataset.weights[rows],
                            delta=delta, seed=seed, log_space=dataset.target_positive, shared=shared,
                            group_name=dataset.group if per_group else None, bootstrap=bootstrap,
                            warm=law.constants)
    except (DataError, ArithmeticError, ValueError, np.linalg.LinAlgError) as err:
        scored.message = "; ".join(filter(None, [scored.message, f"bootstrap failed: {err}"]))
        return scored
    out = dataclasses.replace(scored, intervals=final.intervals, samples=final.samples)
    test = split.rows(TEST)
    if len(test):
        out.forecast = forecast_at_largest(out, dataset, test, per_group)
    return out


def score_law_safely(law: Law, dataset: Dataset, split: Split, **kw) -> Scored:
    """score_law that never raises on numbers: a numerical error (also under np.seterr(all='raise'))
    fails this candidate with its reason, and the run goes on."""
    try:
        with np.errstate(all="ignore"):
            return score_law(law, dataset, split, **kw)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as err:
        first = str(err).splitlines()[0] if str(err) else ""
        return _failed(law, f"numerical error: {type(err).__name__}: {first}")


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


def forecast_at_largest(scored: Scored, dataset: Dataset, test_rows: np.ndarray, per_group: bool) -> dict | None:
    """Prediction and 95 % bootstrap interval at the largest-scale test run."""
    X = dataset.X(test_rows)
    scale = np.ones(len(test_rows))
    for v in X.values():
        scale = scale * np.where(v > 0, v, 1.0)
    i = int(np.argmax(scale))
    row = test_rows[i : i + 1]
    Xi = dataset.X(row)
    g = dataset.groups[row] if per_group else None
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
    """The per-row residuals on the selection bands, {band: values}, for the paired test of :mod:`select`."""
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


def score_candidates(laws: Sequence[Law], dataset: Dataset, split: Split, *, published=False, delta=None, seed=0,
                     bootstrap=0, shared=(), progress: Callable | None = None, warnings: list | None = None,
                     bootstrap_top: int | None = None) -> list[Scored]:
    """Fit and score each law; failures are kept with their reason, never raised."""
    out = []
    for i, law in enumerate(laws):
        share = [c for c in shared if c in law.params]
        B = bootstrap if bootstrap_top is None else 0
        s = score_law_safely(law, dataset, split, published=published, delta=delta, seed=seed, bootstrap=B, shared=share)
        if not s.ok and warnings is not None:
            warnings.append(f"{law.name}: {s.status}")
        out.append(s)
        if progress:
            progress(i + 1, len(laws), s)
    return out


def build_result(scored: list[Scored], dataset: Dataset, split: Split, *, engines=(), warnings=(), options=None,
                 timing=None, tolerance=0.02) -> Result:
    ranked, rec, front = rank(scored, dataset.target_positive, tolerance=tolerance)
    return Result(
        laws=ranked,
        recommended=rec,
        dataset=dataset.describe(),
        split=split.describe(),
        target=dataset.target,
        features=list(dataset.features),
        group=dataset.group,
        log_space=dataset.target_positive,
        engines=list(engines),
        warnings=list(warnings),
        options=dict(options or {}),
        pareto=front,
        timing=dict(timing or {}),
    )


def fit(data, *, target: str, features, group: str | None = None, weight: str | None = None,
        split: str | None = None, laws=None, published: bool = False, seed: int = 0, delta: float | None = None,
        bootstrap: int = 100, shared: Sequence[str] = (), derive: Mapping[str, str] | None = None,
        bind: Mapping[str, str] | None = None, val_frac: float = 0.15, tolerance: float = 0.02,
        progress: Callable | None = None, name: str | None = None) -> Result:
    """Refit and score fixed laws (catalog names, formulas or Law objects) on a table of runs.

    ``laws=None`` takes every catalog law whose variables bind to the features.
    ``published=True`` scores laws with their published constants, without refitting.
    ``split=None`` fits on all rows and reports train metrics only.
    """
    t0 = time.perf_counter()
    dataset, sp = prepare(data, target=target, features=features, group=group, weight=weight, split=split,
                          derive=derive, seed=seed, val_frac=val_frac, name=name)
    candidates = resolve_laws(laws, dataset, bind=bind)
    if published:
        with_pub = [law for law in candidates if law.published is not None]
        if not with_pub:
            raise DataError("none of the chosen laws has published constants for --published")
        if laws is None:
            candidates = with_pub
    if not candidates:
        raise DataError(f"no catalog law applies to features {list(dataset.features)}; pass a formula with --law")
    _check_rows(dataset, sp, candidates)
    warnings: list[str] = []
    scored = score_candidates(candidates, dataset, sp, published=published, delta=delta, seed=seed,
                              bootstrap=bootstrap, shared=shared, progress=progress, warnings=warnings)
    options = {"seed": seed, "delta": "auto" if delta is None else delta, "bootstrap": bootstrap, "published": published,
               "shared": list(shared), "val_frac": val_frac, "tolerance": tolerance,
               "protocol": "val metrics from a fit on train rows; train/test metrics from a refit on train+val rows"}
    return build_result(scored, dataset, sp, warnings=warnings, options=options,
                        timing={"total_s": round(time.perf_counter() - t0, 3)}, tolerance=tolerance)


def _check_rows(dataset: Dataset, split: Split, laws: Sequence[Law]):
    train = split.rows(TRAIN)
    k = min(law.n_constants for law in laws)
    if dataset.group is None or split.kind == "leave-group-out":
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
