"""Benchmark: the search engines side by side (grammar, operon, pysr) under one budget.

For every task and seed, each engine runs alone through the same pipeline
(``discover.discover`` with ``engines=[name]``, catalog laws off so the
recommended law is the engine's own, bootstrap off) with the same time budget.
Reported per engine:

* test R² and test RMSE of log y (RMSE of y for a target that can be negative)
  of the recommended law — chosen on validation rows only, scored on the
  task's held-out largest runs;
* recovery rate on the synthetic suite: is the recommended law the generating
  form (``discover.canon.equivalent`` on every row of the task)?
* wall time per search (engine, refit and scoring).

Tasks: the synthetic recovery suite (``discover.bench.synthetic.tasks(seed)``),
the SLDBench tables in ``../shared/data/sld`` (their task files beside them) and
Chinchilla's Fig. 4 runs (``chinchilla_fig4``, split as in the real-task suite).
Each search uses every local core (the engines' own default).
An engine that cannot run here (PySR without Julia) is listed once as
unavailable and skipped. It is not a test.

    python benchmarks/engines.py --tasks chinchilla,kaplan,vocab --seeds 0 --time-budget 5    # a quick look
    python benchmarks/engines.py --tasks all --seeds 0,1,2 --time-budget 60 --out bench_engines.csv
    python benchmarks/engines.py --tasks real --engines grammar,operon --time-budget 120   # issue 20
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SLD_DIR = ROOT.parent / "shared" / "data" / "sld"


@dataclass
class Task:
    name: str
    kind: str  # "synthetic", "sld" or "real" (another public table)
    frame: pd.DataFrame
    target: str
    features: list
    group: str | None = None
    truth: object = None  # the generating Law (synthetic tasks)
    split: str = "column:split"


def chinchilla_task() -> list[Task]:
    """Hoffmann et al.'s Fig. 4 runs (``../shared/data/chinchilla``), the 20 % with most compute held out,
    as in the real-task suite (``benchmarks/real/chinchilla_fig4.json``)."""
    doc = json.loads((ROOT / "benchmarks" / "real" / "chinchilla_fig4.json").read_text(encoding="utf-8"))
    path = (ROOT / "benchmarks" / "real" / doc["table"]).resolve()
    if not path.exists():
        return []
    return [Task("chinchilla_fig4", "real", pd.read_csv(path), doc["target"], list(doc["features"]), None, None,
                 doc["split"])]


def synthetic_tasks(seed: int) -> list[Task]:
    from discover.bench import synthetic

    return [Task(t.name, "synthetic", t.frame, t.target, list(t.features), None, t.truth) for t in synthetic.tasks(seed)]


def sld_tasks(directory: Path = SLD_DIR) -> list[Task]:
    out = []
    for path in sorted(Path(directory).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        frame = pd.read_csv(path.parent / doc["table"])
        features = doc["features"] if isinstance(doc["features"], list) else doc["features"].split(",")
        out.append(Task(f"sld:{path.stem}", "sld", frame, doc["target"], list(features), doc.get("group")))
    return out


def select(tasks: list[Task], spec: str) -> list[Task]:
    """``all``, ``synthetic``, ``sld``, ``real``, a count (first N), or comma-separated names (``vocab`` matches ``sld:vocab`` too)."""
    spec = spec.strip()
    if spec == "all":
        return tasks
    if spec in {"synthetic", "sld"}:
        return [t for t in tasks if t.kind == spec]
    if spec == "real":  # every public table: the SLD ones and Chinchilla's
        return [t for t in tasks if t.kind != "synthetic"]
    if spec.isdigit():
        return tasks[: int(spec)]
    out = []
    for name in [s.strip() for s in spec.split(",") if s.strip()]:
        hits = [t for t in tasks if t.name == name] or [t for t in tasks if t.name == f"sld:{name}"]
        if not hits:
            raise SystemExit(f"unknown task {name!r}; known: {', '.join(t.name for t in tasks)}")
        out.extend(h for h in hits if h not in out)
    return out


def run_cell(task: Task, engine: str, seed: int, budget: float) -> dict:
    """One search: the recommended law's test metrics, recovery and wall time."""
    from discover import canon
    from discover.errors import DataError
    from discover.formula import symbol_name
    from discover.search import discover

    row = {"task": task.name, "kind": task.kind, "engine": engine, "seed": seed, "budget_s": budget}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = discover(task.frame, target=task.target, features=task.features, group=task.group,
                           split=task.split, engines=[engine], time_budget=budget, seed=seed, catalog=False,
                           bootstrap=0, name=task.name)
    except DataError as err:
        return {**row, "status": f"error: {err}", "wall_s": time.perf_counter() - t0}
    row["wall_s"] = time.perf_counter() - t0
    info = res.engines[0] if res.engines else {}
    if info.get("status") == "unavailable":
        return {**row, "status": "unavailable", "reason": info.get("reason", "")}
    if res.recommended is None:
        return {**row, "status": "no law"}
    scored = res.best_scored
    test = scored.metrics.get("test", {})
    log_space = bool(res.log_space)
    row.update(status="ok", law=scored.law.formula, n_constants=scored.law.n_constants,
               provenance=scored.law.provenance, test_r2=_num(test.get("r2")),
               test_rmse=_num(test.get("rmse_log") if log_space else test.get("rmse")),
               metric="rmse_log" if log_space else "rmse", n_laws=info.get("n_laws"))
    if task.truth is not None:
        X = {symbol_name(c): task.frame[c].to_numpy(dtype=float) for c in task.features}
        try:
            row["recovered"] = bool(canon.equivalent(task.truth, scored.law, X)) if not scored.law.grouped else False
        except Exception:  # noqa: BLE001 - an equivalence check that cannot run counts as not recovered
            row["recovered"] = False
    return row


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def summarise(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    out = []
    for engine, g in frame.groupby("engine", sort=False):
        ok = g[g["status"] == "ok"]
        syn = ok[ok["kind"] == "synthetic"]
        unavailable = (g["status"] == "unavailable").all()
        out.append({
            "engine": engine,
            "cells": len(g),
            "ok": len(ok) if not unavailable else "unavailable",
            "mean test R²": ok["test_r2"].mean() if len(ok) else math.nan,
            "median test R²": ok["test_r2"].median() if len(ok) else math.nan,
            "median test RMSE(log)": ok.loc[ok["metric"] == "rmse_log", "test_rmse"].median() if len(ok) else math.nan,
            "recovery": (f"{int(syn['recovered'].sum())}/{len(syn)}" if len(syn) and "recovered" in syn else "-"),
            "mean wall s": g["wall_s"].mean(),
        })
    return pd.DataFrame(out)


def print_table(frame: pd.DataFrame, title: str) -> None:
    print(f"\n{title}")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default="all", help="all | synthetic | sld | real | N (first N) | comma-separated names")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (each synthetic table is drawn with its seed)")
    ap.add_argument("--time-budget", type=float, default=30.0, help="seconds per search, the same for every engine")
    ap.add_argument("--engines", default="grammar,operon,pysr")
    ap.add_argument("--sld-dir", default=str(SLD_DIR), help="directory of the SLDBench task files")
    ap.add_argument("--out", help="write every cell to this CSV")
    args = ap.parse_args(argv)

    from discover.engines import get_engine

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    skipped = {}
    for e in engines:
        ok, why = get_engine(e).available()
        if not ok:
            skipped[e] = why
            print(f"engine {e} unavailable: {why}", file=sys.stderr)
    sld = (sld_tasks(Path(args.sld_dir)) if Path(args.sld_dir).is_dir() else []) + chinchilla_task()
    rows = []
    for seed in seeds:
        tasks = select(synthetic_tasks(seed) + sld, args.tasks)
        for task in tasks:
            for e in engines:
                if e in skipped:
                    rows.append({"task": task.name, "kind": task.kind, "engine": e, "seed": seed,
                                 "status": "unavailable", "wall_s": 0.0, "reason": skipped[e]})
                    continue
                row = run_cell(task, e, seed, args.time_budget)
                rows.append(row)
                print(f"  {task.name:24s} {e:8s} seed {seed}: {row.get('status')}"
                      f"  test R² {row.get('test_r2', math.nan):.4f}  wall {row.get('wall_s', 0):.1f}s"
                      f"  {row.get('law', '')[:70]}", flush=True)
    frame = pd.DataFrame(rows)
    if args.out:
        frame.to_csv(args.out, index=False)
    cols = [c for c in ("task", "engine", "seed", "status", "test_r2", "test_rmse", "n_constants", "recovered", "wall_s")
            if c in frame]
    print_table(frame[cols], "per task")
    print_table(summarise(rows), f"per engine (budget {args.time_budget:g} s, seeds {args.seeds}, {len(set(frame['task']))} tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
