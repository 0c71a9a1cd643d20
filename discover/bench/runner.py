"""Run a benchmark: plan the cells, skip the finished ones, execute the rest, summarise.

Execution backends:

* local worker processes (default, ``workers=N``): a ``ProcessPoolExecutor``
  whose processes are forked from a pre-loaded fork server and run one cell
  each, so a cell's peak memory (``ru_maxrss``) is its own and a crash or a
  leak in one cell cannot touch the next; ``workers=0`` runs cells in this
  process (for debugging);
* a Dask distributed cluster (``dask_scheduler="tcp://HOST:PORT"``): cells are
  submitted with ``Client.submit`` and collected with ``as_completed``; the
  workers only compute (they need ``discover`` installed) and this process
  writes every file, so the cluster needs no shared file system.

Each finished cell is persisted as soon as it arrives (``done.json`` last), so
an interrupted benchmark is resumed by running the same command again.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing as mp
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..engines import engine_names
from ..errors import DataError
from ..result import write_json_atomic
from ..version import __version__
from ..workers import local_cores
from .cells import FAILED, Cell, cell_dir, error_row, execute, finish, read_done, run_cell
from .suites import Task, load_suite
from .summary import cells_frame, write_summary


@dataclass
class BenchResult:
    """What a benchmark run produced: one row per planned cell, and the files written."""

    rows: list[dict]
    out: Path
    ran: int = 0
    skipped: int = 0
    lost: int = 0
    files: dict = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if r.get("status") != "ok")

    def table(self):
        return cells_frame(self.rows)


def plan(tasks: Sequence[Task], engines: Sequence[str], seeds: Sequence[int], budget: float,
         bootstrap: int = 0) -> list[Cell]:
    """Every task × engine × seed, tasks outermost (so a partial run covers whole tasks first)."""
    return [Cell(t, e, int(s), float(budget), int(bootstrap)) for t in tasks for e in engines for s in seeds]


def run_bench(suite, *, out, engines: Sequence[str] = ("grammar",), seeds: Sequence[int] = (0,),
              time_budget: float = 300.0, workers: int = 1, dask_scheduler: str | None = None,
              noise: Sequence[float] = (0.01,), data_seed: int = 0, tasks: Sequence[str] | None = None,
              retry_failed: bool = False, bootstrap: int = 0, log: Callable[[str], None] | None = None) -> BenchResult:
    """Run (or resume) a benchmark of ``engines`` on SUITE and write its summary under ``out``."""
    t0 = time.perf_counter()
    engines = _check_engines(engines)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise DataError("no seed given; use e.g. --seeds 0,1,2")
    if not (isinstance(time_budget, (int, float)) and math.isfinite(time_budget) and time_budget > 0):
        raise DataError("time budget must be a positive number of seconds")
    if workers is None or workers < 0:
        raise DataError("--workers must be 0 (this process) or more")
    if bootstrap < 0:
        raise DataError("--bootstrap must be >= 0")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {str(out)!r} exists and is not a directory")
    task_list = load_suite(suite, noise=noise, data_seed=data_seed, only=tasks)
    cells = plan(task_list, engines, seeds, time_budget, bootstrap)
    # the cores are shared out: cells side by side each search on their share; a Dask cell on one process
    share = 1 if dask_scheduler else max(1, local_cores() // max(workers, 1))
    cells = [dataclasses.replace(c, search_workers=share) for c in cells]
    log = log or (lambda msg: None)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "bench.json", {
        "suite": str(suite), "engines": list(engines), "seeds": seeds, "time_budget": float(time_budget),
        "bootstrap": int(bootstrap), "noise": list(map(float, noise)) if str(suite) == "synthetic" else None,
        "data_seed": int(data_seed) if str(suite) == "synthetic" else None,
        "tasks": [{"name": t.name, "rows": t.n_rows, "hash": t.content_hash()[:16], "source": t.source}
                  for t in task_list],
        "cells": [c.key for c in cells],
    })

    rows: dict[str, dict] = {}
    pending = []
    for c in cells:
        done = read_done(out, c)
        if done is not None and (done.get("status") not in FAILED or not retry_failed):
            rows[c.key] = done
        else:
            pending.append(c)
    skipped = len(rows)
    if skipped:
        n_failed = sum(1 for r in rows.values() if r.get("status") in FAILED)
        note = f" ({n_failed} failed; --retry-failed reruns them)" if n_failed else ""
        log(f"{skipped} of {len(cells)} cells already finished in {out}{note}; skipping them")
    where = f"Dask scheduler {dask_scheduler}" if dask_scheduler else (
        "this process" if workers == 0 else f"{workers} worker process{'es' if workers > 1 else ''}")
    if pending:
        log(f"running {len(pending)} cells ({len(task_list)} tasks × {len(engines)} engines × {len(seeds)} seeds, "
            f"{time_budget:g} s each) on {where}")
    counter = {"i": 0}

    def on_row(cell: Cell, row: dict):
        rows[cell.key] = row
        counter["i"] += 1
        log(f"[{counter['i']}/{len(pending)}] {_describe(row)}")

    lost = 0
    try:
        if pending:
            if dask_scheduler:
                lost = _run_dask(pending, out, dask_scheduler, on_row)
            elif workers == 0:
                for c in pending:
                    on_row(c, run_cell(c, out, rss_scope="process"))
            else:
                lost = _run_local(pending, out, workers, on_row)
    except BaseException:
        # Interrupted (or the cluster went away): the finished cells are on disk; summarise them and stop.
        write_summary([rows[c.key] for c in cells if c.key in rows], out)
        raise
    ordered = [rows[c.key] for c in cells if c.key in rows]
    files = write_summary(ordered, out)
    return BenchResult(rows=ordered, out=out, ran=counter["i"], skipped=skipped, lost=lost, files=files,
                       wall_s=round(time.perf_counter() - t0, 2))


def _check_engines(engines) -> list[str]:
    if isinstance(engines, str):
        engines = [e.strip() for e in engines.split(",")]
    engines = [e for e in dict.fromkeys(engines) if e]
    if not engines:
        raise DataError("no engine chosen; use e.g. --engines grammar")
    known = set(engine_names())
    for e in engines:
        for part in e.split("+"):
            if part not in known:
                raise DataError(f"unknown engine {part!r} (available: {', '.join(sorted(known))})")
    return engines


def _describe(row: dict) -> str:
    head = f"{row.get('task')} {row.get('engine')} seed {row.get('seed')}: "
    if row.get("status") != "ok":
        return head + f"{row.get('status')}: {row.get('error') or ''}"[:200]
    r2, cat = row.get("test_r2"), row.get("catalog_r2")
    text = head + f"test R² {_f(r2)} (best catalog {_f(cat)})"
    if row.get("recovered") is not None:
        text += f", recovered {'yes' if row['recovered'] else 'no'}"
        if not row["recovered"] and row.get("truth_found") is not None:
            text += (f" (true form val rank {row['truth_val_rank']}, z {_f(row.get('truth_val_z'), '.2f')})"
                     if row["truth_found"] else " (true form not among the candidates)")
    return text + f", {_f(row.get('wall_s'), '.1f')} s"


def _f(x, fmt=".4f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


# ------------------------------------------------------------- local processes
def _run_local(pending: list[Cell], out: Path, workers: int, on_row) -> int:
    """Cells in worker processes, one fresh process per cell. Returns the number of cells lost to a crash."""
    ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else mp.get_context("spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["discover.bench.cells", "discover.search"])
    lost = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_cell, c, str(out), rss_scope="cell"): c for c in pending}
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for fut in done:
                    cell = futures[fut]
                    try:
                        row = fut.result()
                    except BrokenProcessPool:
                        # Which cell killed the pool is unknown: record nothing, so a rerun retries them.
                        lost += 1
                        on_row(cell, error_row(cell, "worker process died (out of memory or a crash); "
                                                     "rerun to retry", status="crashed"))
                        continue
                    except Exception as err:  # noqa: BLE001 - e.g. the cell could not be sent to the worker
                        row = error_row(cell, f"{type(err).__name__}: {err}")
                        finish(cell_dir(out, cell), row, None, None)
                    on_row(cell, row)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return lost


# ----------------------------------------------------------------------- Dask
def _run_dask(pending: list[Cell], out: Path, address: str, on_row) -> int:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise DataError("--dask-scheduler needs the 'distributed' package: pip install 'dask[distributed]'") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as err:
        raise DataError(f"cannot connect to the Dask scheduler at {address}: {err}") from None
    try:
        probe = client.submit(_probe, pure=False)
        try:
            probe.result(timeout=120)
        except Exception as err:  # noqa: BLE001
            raise DataError(f"the Dask workers at {address} cannot run discover ({type(err).__name__}: {err}); "
                            "install discover on the workers") from None
        futures = {}
        for c in pending:
            fut = client.submit(execute, c, rss_scope="process", pure=False, key=f"discover-bench-{c.key}")
            futures[fut] = c
        try:
            for fut in as_completed(list(futures)):
                cell = futures[fut]
                try:
                    row, doc, board, tb = fut.result()
                except Exception as err:  # noqa: BLE001 - KilledWorker and friends: the cell's own failure
                    row, doc, board, tb = error_row(cell, f"{type(err).__name__}: {err}"), None, None, None
                finish(cell_dir(out, cell), row, doc, board, tb)
                on_row(cell, row)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
    return 0


def _probe() -> str:
    return __version__

