"""Benchmark: small tables a rule was not developed on, drawn from the real suite's confirm half.

A user's table often has 15-30 runs. The real suite has one such task (the OLMo
ladder's final losses, on the dev half), too few to confirm a rule for small
tables. So this draws them: from each confirm-half task without groups or curves
(``benchmarks/real/*.json``), ``--rows`` training rows at random (each size with
``--seeds`` seeds), its test rows kept whole, written as a table with a
``column:_split`` split (the test rows are the task's own). The draws go to
``OUT/tasks`` (generated from ``../shared/data`` each time, never copied into
the repository); ``discover bench`` then runs them into ``OUT/run``.

Compare selection rules on the same candidates afterwards, without refitting:

    python benchmarks/small_tables.py --out bench/small [--rows 16,26] [--seeds 0,1] [--time-budget 30]
    python benchmarks/selection_rules.py bench/small/run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from discover.bench.runner import run_bench
from discover.bench.suites import tasks_from_file
from discover.errors import DataError
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.splits import TEST

REAL = Path(__file__).resolve().parent / "real"


def confirm_tasks() -> list:
    """The confirm half's tasks whose rows are plain runs: no groups, no curves (those whose table
    is not beside the checkout are left out)."""
    out = []
    for path in sorted(REAL.glob("*.json")):
        doc = json.loads(path.read_text())
        if doc.get("half") != "confirm" or doc.get("group") or doc.get("curve"):
            continue
        try:
            out += tasks_from_file(path)
        except DataError as err:
            print(f"{path.stem}: left out ({err})", file=sys.stderr)
    return out


def draw(task, n: int, seed: int, where: Path) -> Path:
    """One small table from ``task``: ``n`` of its training rows (validation included), its test rows."""
    spec = TableSpec(target=task.target, features=tuple(task.features), split=task.split)
    ds, split = prepare(task.frame, spec)
    frame = ds.frame.reset_index(drop=True)
    test = np.flatnonzero(split.labels == TEST)
    train = np.flatnonzero(split.labels != TEST)
    pick = np.sort(np.random.default_rng(1000 * n + seed).choice(train, size=min(n, len(train)), replace=False))
    table = frame.iloc[np.concatenate([pick, test])].copy()
    table["_split"] = ["train"] * len(pick) + ["test"] * len(test)
    name = f"{task.name}_n{n}_s{seed}"
    table.to_csv(where / f"{name}.csv", index=False)
    doc = {"name": name, "table": f"{name}.csv", "target": task.target, "features": list(task.features),
           "group": None, "split": "column:_split",
           "why": f"{n} training rows drawn (seed {seed}) from {task.name}'s, its test rows kept"}
    path = where / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/small"))
    ap.add_argument("--rows", default="16,26")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--time-budget", type=float, default=30.0)
    args = ap.parse_args(argv)
    tasks = confirm_tasks()
    if not tasks:
        print("needs the real suite's tables (../shared/data) beside the checkout", file=sys.stderr)
        return 2
    where = args.out / "tasks"
    where.mkdir(parents=True, exist_ok=True)
    for old in [*where.glob("*.json"), *where.glob("*.csv")]:  # the draws of an earlier call: not this one's
        old.unlink()
    for task in tasks:
        for n in (int(v) for v in args.rows.split(",")):
            for seed in (int(v) for v in args.seeds.split(",")):
                draw(task, n, seed, where)
    res = run_bench(where, out=args.out / "run", time_budget=args.time_budget, bootstrap=0, log=print)
    print(f"ran {res.ran} cells; summary in {args.out / 'run' / 'summary.md'}; "
          f"compare rules: python benchmarks/selection_rules.py {args.out / 'run'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
