"""Discovery: engines propose, then the same refit/score/select as published laws.

``discover`` runs the chosen engines on train and validation rows only, within
one time budget split between them, merges their candidates with the catalog
laws that apply (so every run answers "did we beat the published law?"),
removes duplicates, refits everything with the one robust fitter, and ranks.
Bootstrap intervals are computed for the best few laws only, which keeps a
search with hundreds of candidates fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from . import canon
from .budget import Budget, Deadline
from .candidate import Candidate
from .catalog import all_laws as catalog_laws
from .checkpoint import Checkpoint, StopFlag, checkpoint_path, stop_on_signals
from .engines import EngineTask, get_engine
from .errors import DataError
from .flags import NOT_IDENTIFIABLE
from .formula import symbol_name
from .law import Law
from .naming import readable
from .options import FitOptions, SearchOptions, TableSpec
from .pipeline import build_result, prepare, run_record
from .resolve import resolve_laws
from .result import Result
from .schedule import DEFAULT_MOMENTUM
from .scoring import bootstrap_best, check_rows, draws_used, merge_same_functions, score_candidates
from .select import rank
from .splits import TRAIN, VAL, band_clusters
from .workers import cluster_client, local_workers

BOOTSTRAP_TOP = 5
BOOTSTRAP_TOP_GROUPED = 2  # grouped laws refit every group per draw: intervals for the best two only
GRACE_LAWS = 3  # an engine's best laws still scored after an interrupt
SURE_LAWS = 1  # an engine's best laws scored even when the time budget has run out


def _check_varying(dataset) -> None:
    """A search needs every feature to vary: a constant column teaches nothing about its effect,
    yet forms (and the catalog's positional binding) would use it as one more free constant."""
    for f in dataset.features:
        x = dataset.frame[f].to_numpy(dtype=float)
        if np.ptp(x) == 0:
            raise DataError(f"feature {f!r} is constant ({x[0]:g} on every row): a search cannot learn its effect; "
                            f"leave it out of the features")


def discover(data, *, target: str, features, group: str | None = None, weight: str | None = None,
             split: str | None = None, engines: Sequence[str] = ("grammar",), time_budget: float = 300.0,
             seed: int = 0, laws=None, catalog: bool = True, delta: float | None = None, bootstrap: int = 100,
             shared: Sequence[str] = (), derive: Mapping[str, str] | None = None, val_frac: float = 0.15,
             tolerance: float = 0.02, progress: Callable | None = None, engine_options: Mapping | None = None,
             max_forms: int | None = None, max_constants: int | None = None, name: str | None = None,
             checkpoint=None, resume: bool = False, direction: str | None = None,
             stop: StopFlag | None = None, handle_signals: bool = True,
             curve: str | None = None, step: str | None = None, lr: str | None = None,
             momentum: float = DEFAULT_MOMENTUM, min_step: float | None = None, workers: int | None = None,
             dask_scheduler: str | None = None) -> Result:
    """Search for laws on a table of runs and rank them with the catalog laws.

    ``time_budget`` seconds bound the whole run (:mod:`discover.budget`): the catalog is scored,
    ``engines`` search (their share split evenly), their laws are scored and the best bootstrapped
    within it; an engine that cannot run here (e.g. PySR without Julia) is skipped with a warning.
    By default a discovered law has at most as many constants as the richest published law that
    applies (:func:`peer_constants`).
    ``max_forms`` also ends the grammar search after that many fitted forms (a
    search that ends on its count gives the same laws on any machine). ``max_constants`` bounds
    every candidate, catalog laws included (per group, for a grouped law).

    ``workers`` processes fit forms and score laws (default: every local core; the laws are the
    same for any number); ``dask_scheduler`` (an address) has a Dask cluster fit the forms.

    ``checkpoint`` (a directory) keeps every finished piece of work on disk;
    ``resume=True`` continues from it (see :func:`resume`). The first SIGINT or
    SIGTERM (or setting ``stop``) ends the search early with the best laws so
    far, marked ``status="interrupted: ..."``; a second one quits at once.

    The settings build a :class:`~discover.options.TableSpec`,
    :class:`~discover.options.FitOptions` and
    :class:`~discover.options.SearchOptions`; :func:`run_search` takes those.
    """
    table = TableSpec(target=target, features=features, group=group, weight=weight, derive=derive or {},
                      split=split, val_frac=val_frac, name=name, direction=direction,
                      curve=curve, step=step, lr=lr, momentum=momentum, min_step=min_step)
    options = FitOptions(seed=seed, delta=delta, bootstrap=bootstrap, shared=shared, tolerance=tolerance)
    search = SearchOptions(engines=engines, time_budget=time_budget, max_forms=max_forms,
                           engine_options=engine_options or {}, catalog=catalog, max_constants=max_constants,
                           workers=workers, dask_scheduler=dask_scheduler)
    return run_search(data, table, options, search, laws=laws, progress=progress, checkpoint=checkpoint,
                      resume=resume, stop=stop, handle_signals=handle_signals)


def run_search(data, table: TableSpec, options: FitOptions, search: SearchOptions, *, laws=None,
               progress: Callable | None = None, checkpoint=None, resume: bool = False, stop: StopFlag | None = None,
               handle_signals: bool = True) -> Result:
    """:func:`discover` with its settings as objects."""
    t0 = time.perf_counter()
    settings = _settings(data, table, options, search, laws)
    dataset, sp = prepare(data, table, seed=options.seed, search=True)
    _check_varying(dataset)
    for ename in search.engines:  # bad options are named before anything is written
        if not search.options_for(ename):
            continue
        try:
            get_engine(ename, **search.options_for(ename))
        except TypeError as err:
            raise DataError(f"engine {ename!r} does not take these options: {err}") from None
    notes: list[str] = []  # said in the results' warnings
    fixed = resolve_laws(laws, dataset, notes=notes) if laws else []
    peers = resolve_laws(None, dataset)
    known = peers if search.catalog else []
    if fixed or known:
        check_rows(dataset, sp, fixed or known)
    if resume and checkpoint is None:
        raise DataError("resume=True needs the checkpoint directory of the run to continue")
    own = stop is None
    stop = stop if stop is not None else StopFlag()
    guard = stop_on_signals(stop) if own and handle_signals else contextlib.nullcontext()
    # the cluster is reached before anything is written (an unreachable scheduler is bad input);
    # a cluster run scores here (its workers fit the search's forms), a local one on its cores
    with cluster_client(search.dask_scheduler) as client:
        ck = None  # created only once the input is known to be good, so bad input writes nothing
        if checkpoint is not None:
            if resume:
                ck = Checkpoint.load(checkpoint)
                ck.check_matches(settings, dataset.hash())
            else:
                ck = Checkpoint(checkpoint_path(checkpoint), settings, dataset.hash())
                ck.save(force=True)
        with guard, local_workers((dataset, sp, options), 1 if search.dask_scheduler else search.n_workers) as pool:
            return _search(dataset, sp, table, options, search, fixed, known, ck, stop, progress, t0, notes,
                           client, pool, peer_constants(peers))


def resume(directory, *, data=None, progress: Callable | None = None, stop: StopFlag | None = None,
           handle_signals: bool = True) -> Result:
    """Continue an interrupted :func:`discover` run from the checkpoint in ``directory``.

    The settings come from the checkpoint. The table is read again from the
    path the run was given (or pass ``data=`` for a table that was in memory)
    and must be unchanged.
    """
    ck = Checkpoint.load(directory)
    s = ck.settings
    try:
        table, options = TableSpec.from_dict(s["table"]), FitOptions.from_dict(s["fit"])
        search = SearchOptions.from_dict(s["search"])
    except (KeyError, TypeError) as err:
        raise DataError(f"the checkpoint in {str(directory)!r} has no valid settings ({err})") from None
    source = s.get("data")
    if data is None:
        if source is None:
            raise DataError("the checkpoint was written for a table held in memory; pass it again with data=")
        data = source
    return run_search(data, table, options, search, laws=_laws_back(s.get("laws")), checkpoint=directory,
                      resume=True, progress=progress, stop=stop, handle_signals=handle_signals)


def _search(dataset, sp, table: TableSpec, options: FitOptions, search: SearchOptions, fixed, known, ck, stop,
            progress, t0, notes=(), client=None, pool=None, peer_cap: int | None = None) -> Result:
    """The run, planned against its time budget (:mod:`discover.budget`): the catalog (and the user's
    laws) scored first, which measures what a law costs here; the engines searched in the time that
    leaves; their laws scored best first to the deadline; the bootstrap cut to the time left."""
    seed = options.seed
    warnings: list[str] = list(notes)
    clock = Budget(search.time_budget, start=time.monotonic() - (time.perf_counter() - t0))
    n_top = BOOTSTRAP_TOP_GROUPED if dataset.group is not None else BOOTSTRAP_TOP
    t = time.monotonic()
    first = canon.dedupe([Candidate(law) for law in [*fixed, *known]])
    if search.max_constants is not None:
        over = [c.law.name for c in first if c.law.n_constants > search.max_constants]
        if over:
            warnings.append(f"{len(over)} catalog or given laws with more than {search.max_constants} constants "
                            f"left out (max_constants), e.g. {', '.join(over[:3])}")
        first = [c for c in first if c.law.n_constants <= search.max_constants]
    fresh = sum(1 for c in first if ck is None or ck.get_scored(c.law) is None)  # not restored from a checkpoint
    scored = score_candidates(first, dataset, sp, options, bootstrap=0, store=ck, progress=progress, stop=stop,
                              workers=pool)
    per_law = (time.monotonic() - t) / fresh if fresh else None  # None: nothing was fitted here to measure
    clock.phase("catalog", time.monotonic() - t)
    task = make_task(dataset, sp, known, seed, progress)
    # the engines' laws are the published ones' peers: no richer than the user allows, or by default
    # than the richest published law for this table (:func:`peer_constants`)
    cap = search.max_constants if search.max_constants is not None else peer_cap
    task.stop, task.max_constants = stop, cap
    # Ask every engine first, so the budget is split among those that can run here.
    engine_info, proposed = [], []
    chosen = []
    for name in search.engines:
        opts = search.options_for(name)
        if client is not None and name.lower() == "grammar":
            opts["executor"] = client
        chosen.append((name, get_engine(name, **opts)))
    status = {name: eng.available() for name, eng in chosen}
    n_ok = sum(1 for ok, _ in status.values() if ok)
    budget = clock.search_seconds(per_law, n_ok, bool(options.bootstrap)) / max(n_ok, 1)
    if ck:  # a resumed run keeps the plan it started with (its catalog came back from the checkpoint unmeasured)
        budget = next((b for b in (ck.engine_budget(n) for n, _ in chosen) if b), budget)
    t = time.monotonic()
    if ck:
        ck.enter("search")
    for ename, eng in chosen:
        ok, why = status[ename]
        info = {"name": ename, "version": _safe_version(eng), "seed": seed, "budget_s": round(budget if ok else 0.0, 1)}
        if not ok:
            warnings.append(f"engine {ename} skipped: {why}")
            engine_info.append({**info, "status": "unavailable", "reason": why, "wall_s": 0.0, "n_laws": 0})
            continue
        before = ck.engine_candidates(ename) if ck else []
        used = ck.engine_wall(ename) if ck else 0.0
        if ck and ck.engine_done(ename):
            engine_info.append(ck.engines[ename]["info"])
            proposed.append(before)
            continue
        left = budget - used
        if stop or left < min(1.0, budget):
            found, wall = [], 0.0  # stopped, or an interrupted engine that had used its budget
        else:
            found, wall = _run_engine(ename, eng, task, left, warnings)
        interrupted = bool(stop)
        found = before + found
        entry = {**info, "status": "interrupted" if interrupted else "ok", "wall_s": round(used + wall, 2),
                 "n_laws": len(found), "n_tried": getattr(eng, "n_tried", None)}
        engine_info.append(entry)
        if ck:
            ck.record_engine(ename, found, wall_s=used + wall, interrupted=interrupted, info=entry)
        proposed.append(found[:GRACE_LAWS] if interrupted else found)
    clock.phase("search", time.monotonic() - t)
    grace = bool(stop)  # stopped during the search: still score the catalog and the engines' best few
    # the engines' laws best first, taking turns, so that a deadline leaves each engine its best
    proposed = [c for rank_ in itertools.zip_longest(*proposed) for c in rank_ if c is not None]
    simplified = [readable(dataclasses.replace(c, law=canon.simplify_law(c.law))) for c in proposed]
    if cap is not None:
        over = [c.law.name for c in simplified if c.law.n_constants > cap]
        if over and search.max_constants is not None:
            warnings.append(f"{len(over)} laws with more than {cap} constants left out "
                            f"(max_constants), e.g. {', '.join(over[:3])}")
        simplified = [c for c in simplified if c.law.n_constants <= cap]
    candidates = canon.dedupe([*first, *simplified])
    if ck:
        ck.enter("score")
    t = time.monotonic()
    # scoring ends in time to leave the bootstrap its share
    on_time = Deadline(clock.deadline() - clock.bootstrap_reserve(bool(options.bootstrap)), None if grace else stop)
    found_laws = candidates[len(first):]
    # each engine's best law is scored even past the deadline: a search whose laws are never judged was wasted
    sure = (GRACE_LAWS if grace else SURE_LAWS) * max(n_ok, 1)
    scored += score_candidates(found_laws[:sure], dataset, sp, options, bootstrap=0, store=ck, progress=progress,
                               stop=None if grace else stop, workers=pool)
    scored += score_candidates(found_laws[sure:], dataset, sp, options, bootstrap=0, store=ck, progress=progress,
                               stop=on_time, workers=pool)
    unscored = len(first) + len(found_laws) - len(scored)
    if unscored > 0 and on_time.passed:
        warnings.append(f"{unscored} of the engines' laws (the lowest ranked) were not scored: the time budget ran out")
    ranking = rank(merge_same_functions(scored, dataset, sp), dataset.target_positive, tolerance=options.tolerance,
                   clusters=band_clusters(dataset, sp))
    if not stop and not on_time:  # the best discovered laws one step simpler: a term dropped, a redundant constant fixed
        variants = canon.dedupe([*candidates, *_simpler(ranking)])[len(candidates):]
        if variants:
            scored += score_candidates(variants, dataset, sp, options, bootstrap=0, store=ck, stop=on_time,
                                       workers=pool)
            ranking = rank(merge_same_functions(scored, dataset, sp), dataset.target_positive,
                           tolerance=options.tolerance, clusters=band_clusters(dataset, sp))
    clock.phase("score", time.monotonic() - t)
    ranked, rec = ranking.laws, ranking.recommended
    used_draws = 0
    if options.bootstrap and not stop:
        t = time.monotonic()
        if ck:
            ck.enter("bootstrap")
        ranked = bootstrap_best(ranked, rec, dataset, sp, options, n_top, store=ck, stop=stop,
                                until=clock.deadline(), workers=pool)
        used_draws = draws_used(ranked[rec]) if rec is not None else 0
        if used_draws < options.bootstrap:
            warnings.append(f"bootstrap cut to {used_draws} resamples (of {options.bootstrap}) for the recommended "
                            f"law, to end within the time budget" + ("; no intervals" if used_draws < 2 else ""))
        clock.phase("bootstrap", time.monotonic() - t)
    if stop:
        warnings.append(f"interrupted ({stop.reason}): these are the best laws found so far"
                        + ("; continue with resume" if ck else ""))
    if ck:
        ck.enter("interrupted" if stop else "done")
    record = run_record(table, options, search=search, bootstrap_top=n_top)
    record["bootstrap_used"] = used_draws
    record["max_constants"] = cap
    record["max_constants_rule"] = ("given (max_constants)" if search.max_constants is not None else
                                    f"the richest published law that applies, at least {PEER_MIN} (per group)")
    timing = {**{f"{k}_s": v for k, v in clock.phases.items()}, "total_s": round(time.perf_counter() - t0, 3)}
    res = build_result(ranked, dataset, sp, engines=engine_info, warnings=warnings, options=record,
                       timing=timing, tolerance=options.tolerance)
    res.status = f"interrupted: {stop.reason}" if stop else "complete"
    return res


#: A discovered law may always have as many constants as Chinchilla's form (E, A, alpha, B, beta).
PEER_MIN = 5


def peer_constants(peers: Sequence[Law]) -> int:
    """The default constant budget of the engines' laws: as many as the richest published law that
    applies to the table (``peers``), and at least :data:`PEER_MIN`; the richest in the whole catalog
    when none applies.

    Why: a law is discovered to be published beside the ones it competes with, so by default it is
    their peer in size. A richer law can always predict the nearby held-out bands a little better
    (on a large table, significantly so), yet the extra constants are fitted to the range the runs
    cover and are what goes wrong furthest out; the field's published laws for a setting say how
    much structure its researchers found worth writing down. ``max_constants`` overrides it.
    """
    sizes = [law.n_constants for law in peers] or [law.n_constants for law in catalog_laws()]
    return max(PEER_MIN, max(sizes, default=PEER_MIN))


#: Discovered laws, best first, whose simpler neighbours are scored after the first ranking.
REFINE_TOP = 5


def _simpler(ranking) -> list[Candidate]:
    """Candidates one step simpler than the best discovered laws (and the recommended one), started
    from their fitted constants: the rule then decides, on held-out rows, whether the step costs."""
    picks = [s for s in ranking.laws if s.ok and str(s.law.provenance).startswith("engine")][:REFINE_TOP]
    if ranking.recommended is not None and ranking.laws[ranking.recommended] not in picks:
        picks.append(ranking.laws[ranking.recommended])
    out = []
    for s in picks:
        redundant = [n.strip() for f in s.flags if f.startswith(NOT_IDENTIFIABLE) for n in f.split(":", 1)[1].split(",")]
        values = s.law.constants or {}
        fitted = None if s.law.grouped else values
        for law in canon.simpler_neighbours(dataclasses.replace(s.law, constants=None), redundant, fitted):
            if s.law.grouped:
                groups = {g: {n: v for n, v in c.items() if n in law.params} for g, c in values.items()}
                cand = Candidate(law, group_starts=groups)
            else:
                cand = Candidate(law, start={n: v for n, v in values.items() if n in law.params})
            out.append(readable(cand))
    return out


def _run_engine(ename, eng, task, budget, warnings) -> tuple[list[Candidate], float]:
    task.time_budget = budget
    task.deadline = time.monotonic() + budget
    t1 = time.perf_counter()
    try:
        found = eng.propose(task)
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - an engine failure must not lose the run
        warnings.append(f"engine {ename} failed: {type(err).__name__}: {err}")
        found = []
    return list(found), time.perf_counter() - t1


def _settings(data, table: TableSpec, options: FitOptions, search: SearchOptions, laws) -> dict:
    """The run's settings as JSON-safe values: stored in the checkpoint, compared on resume."""
    source = str(Path(data).resolve()) if isinstance(data, (str, Path)) else None
    if laws is not None:
        items = [laws] if isinstance(laws, (str, Law)) else list(laws)
        laws = [item.to_dict() if isinstance(item, Law) else item for item in items]
    return {"data": source, "table": table.to_dict(), "fit": options.to_dict(), "search": search.to_dict(),
            "laws": laws}


def _laws_back(laws):
    if not laws:
        return laws
    return [Law.from_dict(item) if isinstance(item, Mapping) else item for item in laws]


def _safe_version(eng) -> str:
    try:
        return str(eng.version())
    except Exception:  # noqa: BLE001
        return "unknown"


def make_task(dataset, sp, known, seed, progress) -> EngineTask:
    """The engine's view: train and validation rows only, never test rows."""
    tr, va = sp.rows(TRAIN), sp.rows(VAL)
    grouped = dataset.group is not None and sp.kind != "leave-group-out"
    g = dataset.groups
    backtest = None
    if sp.has_backtest:
        backtest = tuple(np.searchsorted(tr, rows) for rows in sp.backtest)
    return EngineTask(
        X_train=dataset.X(tr), y_train=dataset.y[tr], X_val=dataset.X(va), y_val=dataset.y[va],
        features=[symbol_name(f) for f in dataset.features], target=dataset.target,
        groups_train=g[tr] if grouped else None, groups_val=g[va] if grouped else None,
        log_space=dataset.target_positive, seed=seed, known_laws=list(known), progress=progress, backtest=backtest,
    )
