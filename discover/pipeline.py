"""The pipeline: table -> Dataset -> Split -> laws -> refit and score -> rank -> Result.

This module composes the stages; each stage lives in its own module (see the
README's Architecture section). :func:`fit` scores fixed laws (catalog names,
formula strings, Law objects); :func:`discover.search.discover` adds the
engines' candidates and then scores them through the same
:func:`~discover.scoring.score_candidates`, so published and discovered laws
are refit and scored by one procedure.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .data import Dataset, load_dataset, read_table
from .errors import DataError
from .options import FitOptions, SearchOptions, TableSpec
from .resolve import resolve_laws
from .result import Result, Scored
from .scoring import check_rows, forecast_spread, merge_same_functions, score_candidates
from .roles import target_direction
from .schedule import DEFAULT_FEATURES as DEFAULT_SCHEDULE_FEATURES
from .schedule import FEATURES as SCHEDULE_FEATURES
from .schedule import DEFAULT_MOMENTUM, CurveSpec, add_schedule_features, check_curves
from .select import Z, Z_PARSIMONY, Ranking, rank, standard_errors
from .splits import Split, band_clusters, make_split

FIT_PROTOCOL = "val metrics from a fit on train rows; train/test metrics from a refit on train+val rows"
SEARCH_PROTOCOL = ("engines see train and val rows only; val metrics from a fit on train rows; "
                   "train/test metrics from a refit on train+val rows")


def prepare(data, table: TableSpec, *, seed: int = 0, search: bool = False) -> tuple[Dataset, Split]:
    """Load and validate the table, then split it. Columns a split needs (a split
    column, a scale column, a flops column) are carried along with the features.
    ``search``: the table is for a search, which needs every feature to vary: a schedule feature
    added by default that never varies on the rows fitted (the anneal of runs at a constant LR) is
    left out, and the user told. (A fit keeps it, so that the laws it names bind as they read.)"""
    frame, default_name = read_table(data)
    features, curve, notes = list(table.features), None, []
    if table.curve is not None:
        frame, features, curve, flat = curve_table(frame, table)
        if search and flat:
            features = [f for f in features if f not in flat]
            anneal = " (runs at a constant learning rate have no anneal)" if {"lr_anneal", "lr_drop"} & set(flat) else ""
            notes.append(f"{', '.join(flat)} (derived from the schedule) {'is' if len(flat) == 1 else 'are'} "
                         f"constant on the rows fitted, so left out of the features{anneal}")
    split = table.split
    wanted = ["flops", "compute", "train_flops"]
    if isinstance(split, str) and split.startswith("column:"):
        wanted.append(split.split(":", 1)[1] or "split")
    if isinstance(split, str) and split.startswith("largest:"):
        wanted.append(split[len("largest:"):].rpartition(":")[0])
    if curve is not None:
        wanted += [curve.run, curve.step, *([curve.lr] if curve.lr else [])]
    keep = [c for c in dict.fromkeys(wanted) if c in frame.columns and c not in (table.target, table.group, *features)]
    ds = load_dataset(frame, target=table.target, features=features, group=table.group,
                      weight=table.weight, derive=table.derive or None, keep=keep, name=table.name or default_name)
    ds.direction = table.direction or target_direction(table.target)
    ds.notes.extend(notes)
    if curve is not None:
        ds.curve = curve.to_dict()
        ds.curve["features"] = {c: d for c, d in ds.curve["features"].items() if c in features}
        ds.curve["min_step"] = table.min_step
    return ds, make_split(ds, split, seed=seed, val_frac=table.val_frac)


def curve_table(frame, table: TableSpec):
    """A curve table's rows with their schedule features (derived on every row, in step order), then
    cut to the steps fitted (``min_step``); its features with the schedule's added (the default
    ones unless the user named some); the :class:`~discover.schedule.CurveSpec`; and those of the
    default features that never vary on the rows fitted (a search leaves them out: the user did not
    ask for them, and a search cannot use a constant feature)."""
    curve = CurveSpec(run=table.curve, step=table.step, lr=table.lr, momentum=table.momentum)
    features, added = list(table.features), []
    if curve.lr is None:
        check_curves(frame, curve)
    else:
        frame = add_schedule_features(frame, curve)
        if not set(features) & set(SCHEDULE_FEATURES):
            added = [c for c in DEFAULT_SCHEDULE_FEATURES if c not in features]
    if table.min_step is not None:
        keep = pd.to_numeric(frame[curve.step]).to_numpy(dtype=float) >= table.min_step
        if not keep.any():
            raise DataError(f"min_step {table.min_step:g} is past the last step of every run")
        frame = frame.loc[keep].reset_index(drop=True)
    flat = [c for c in added if np.ptp(frame[c].to_numpy(dtype=float)) == 0]
    return frame, features + added, curve, flat


def run_record(table: TableSpec, options: FitOptions, *, search: SearchOptions | None = None,
               published: bool | None = None, bootstrap_top: int | None = None) -> dict:
    """The settings of a run as results.json records them (``options``)."""
    out = {"seed": options.seed, "delta": "auto" if options.delta is None else options.delta,
           "bootstrap": options.bootstrap}
    if search is None:
        out["published"] = bool(published)
    else:
        out.update(bootstrap_top=bootstrap_top, engines=list(search.engines), time_budget=search.time_budget,
                   catalog=search.catalog)
    out.update(shared=list(options.shared), val_frac=table.val_frac, tolerance=options.tolerance,
               protocol=FIT_PROTOCOL if search is None else SEARCH_PROTOCOL)
    return out


def selection_record(ranking: Ranking, dataset: Dataset, split: Split) -> dict:
    """How the recommended law was chosen, and whether the laws the rows cannot tell apart agree
    on the forecast, for results.json and the terminal."""
    c, laws = ranking.choice, ranking.laws
    return {"rule": split.selection, "folds": {f.name: f.n_eval for f in split.folds}, "reason": c.reason,
            "catalog_default": None if c.default is None else laws[c.default].law.name,
            "as_good_as_best": [laws[i].law.name for i in c.as_good_as_best],
            "standard_errors": standard_errors(band_clusters(dataset, split)),
            # in paired standard errors: what a discovered law must beat the default by, and within
            # what a simpler law counts as good as the best (as_good_as_best: within the first)
            "bars": {"replace_default": Z, "parsimony": Z_PARSIMONY},
            "forecast": forecast_spread(laws, c.recommended, c.as_good_as_best, dataset, split, dataset.target_positive)}


def build_result(scored: list[Scored], dataset: Dataset, split: Split, *, engines=(), warnings=(), options=None,
                 timing=None, tolerance=0.02) -> Result:
    """Merge laws that are one function, rank them and wrap them, with the run's description, in a Result."""
    ranking = rank(merge_same_functions(scored, dataset, split), dataset.target_positive, tolerance=tolerance,
                   clusters=band_clusters(dataset, split))
    ranked, rec = ranking.laws, ranking.recommended
    return Result(
        laws=ranked,
        recommended=rec,
        selection=selection_record(ranking, dataset, split),
        dataset=dataset.describe(),
        split=split.describe(),
        target=dataset.target,
        features=list(dataset.features),
        group=dataset.group,
        log_space=dataset.target_positive,
        direction=dataset.direction,
        engines=list(engines),
        warnings=[*dataset.notes, *split.notes, *warnings],
        options=dict(options or {}),
        pareto=ranking.pareto,
        timing=dict(timing or {}),
    )


def fit(data, *, target: str, features, group: str | None = None, weight: str | None = None,
        split: str | None = None, laws=None, published: bool = False, seed: int = 0, delta: float | None = None,
        bootstrap: int = 100, shared: Sequence[str] = (), derive: Mapping[str, str] | None = None,
        bind: Mapping[str, str] | None = None, val_frac: float = 0.15, tolerance: float = 0.02,
        progress: Callable | None = None, name: str | None = None, direction: str | None = None,
        curve: str | None = None, step: str | None = None, lr: str | None = None,
        momentum: float = DEFAULT_MOMENTUM, min_step: float | None = None) -> Result:
    """Refit and score fixed laws (catalog names, formulas or Law objects) on a table of runs.

    ``laws=None`` takes every catalog law whose variables bind to the features.
    ``published=True`` scores laws with their published constants, without refitting.
    ``split=None`` fits on all rows and reports train metrics only. The table's
    settings build a :class:`~discover.options.TableSpec`, the fit's a
    :class:`~discover.options.FitOptions`; :func:`run_fit` takes those directly.
    """
    table = TableSpec(target=target, features=features, group=group, weight=weight, derive=derive or {},
                      split=split, val_frac=val_frac, name=name, direction=direction,
                      curve=curve, step=step, lr=lr, momentum=momentum, min_step=min_step)
    options = FitOptions(seed=seed, delta=delta, bootstrap=bootstrap, shared=shared, tolerance=tolerance)
    return run_fit(data, table, options, laws=laws, published=published, bind=bind, progress=progress)


def run_fit(data, table: TableSpec, options: FitOptions, *, laws=None, published: bool = False,
            bind: Mapping[str, str] | None = None, progress: Callable | None = None) -> Result:
    """:func:`fit` with its settings as objects."""
    t0 = time.perf_counter()
    dataset, sp = prepare(data, table, seed=options.seed)
    warnings: list[str] = []
    candidates = resolve_laws(laws, dataset, bind=bind, notes=warnings)
    if published:
        with_pub = [law for law in candidates if law.published is not None]
        if not with_pub:
            raise DataError("none of the chosen laws has published constants for --published")
        if laws is None:
            candidates = with_pub
    if not candidates:
        raise DataError(f"no catalog law applies to features {list(dataset.features)}; pass a formula with --law")
    check_rows(dataset, sp, candidates)
    scored = score_candidates(candidates, dataset, sp, options, published=published, progress=progress,
                              warnings=warnings)
    return build_result(scored, dataset, sp, warnings=warnings, options=run_record(table, options, published=published),
                        timing={"total_s": round(time.perf_counter() - t0, 3)}, tolerance=options.tolerance)
