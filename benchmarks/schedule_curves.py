"""Benchmark: whole learning curves of runs larger or longer than any fitted, schedule and all.

The OLMo ladder (``../shared/data/olmo_ladder_curves/curves.csv``): 24 runs of
four sizes (190M-1B) and five token multiples, every evaluation with its
learning rate. Two extrapolations, each on whole curves (rows from step 1,000):

* ``1B``: the 1B runs held out (``largest:non_embedding_params:0.2``): a larger model;
* ``10x``: the 10x-Chinchilla runs held out (``largest:chinchilla_multiple:0.2``):
  a longer schedule than any fitted one.

For each split and each loss it runs :func:`discover.discover` as a user would
(``--curve run --step step --lr lr --min-step 1000``, features N and tokens,
the schedule features derived by the tool) and prints the test R² on the
held-out curves of: the recommended law; Chinchilla's form on curve points
(``hoffmann2022``, refit on the same rows); the catalog schedule law that the
same rule picks among the schedule laws on the selection bands (never on
test rows); and, for reference, the best of those on test. Then it forecasts a
planned 1B run under a WSD schedule and at a constant learning rate with the
recommended law (or the best-ranked law that reads the anneal) and prints both
ends with their bootstrap intervals.

    python benchmarks/schedule_curves.py [--budget 120] [--targets c4_loss,pile_loss] [--splits 1B,10x]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import discover
from discover.schedule import lr_schedule
from discover.select import rank

TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "olmo_ladder_curves" / "curves.csv"
CURVE = dict(curve="run", step="step", lr="lr", min_step=1000)
SPLITS = {"1B": "largest:non_embedding_params:0.2", "10x": "largest:chinchilla_multiple:0.2"}
SCHEDULE_LAWS = ("tissue2024_N", "luo2025_N", "hoffmann2022_S2")


def _law(res, name):
    return next((s for s in res.laws if s.law.name == name), None)


def held_out_r2(s) -> float:
    """A scored law's test R2 (NaN when it failed or is missing)."""
    return float((s.metrics.get("test") or {}).get("r2", float("nan"))) if s is not None and s.ok else float("nan")


def catalog_pick(res, names):
    """The schedule law the selection rule picks among ``names`` alone (selection bands only)."""
    pool = [s for s in res.laws if s.law.name in names]
    if not pool:
        return None
    ranking = rank(pool, True)
    return None if ranking.recommended is None else ranking.laws[ranking.recommended]


def forecast(res, runs: pd.DataFrame) -> str:
    reads = [s for s in res.laws if s.ok and s.samples and {"lr_anneal", "lr_drop"} & set(s.law.variables)]
    best = res.best_scored
    law = best if best in reads else (reads[0] if reads else None)
    if law is None:
        return "no bootstrapped law reads the anneal: no schedule forecast"
    ref = runs[runs.run == "1B-2xC"]
    steps = np.arange(50.0, ref.step.max() + 1, 250.0)
    peak, per_step = float(ref.lr_peak.iloc[0]), float(ref.batch_size_tokens.iloc[0])
    ends = {}
    for kind in ("wsd", "constant"):
        plan = pd.DataFrame({"step": steps, "lr": lr_schedule(steps, peak, kind), "tokens": steps * per_step})
        f = res.predict_schedule(plan, at={"non_embedding_params": float(ref.non_embedding_params.iloc[0])},
                                 law=law.law.name, interval=0.9)
        ends[kind] = f.iloc[-1]
    w, c = ends["wsd"], ends["constant"]
    return (f"planned 1B-2xC with {law.law.name}: WSD ends {w.prediction:.4f} [{w.lower:.4f}, {w.upper:.4f}], "
            f"constant LR {c.prediction:.4f} [{c.lower:.4f}, {c.upper:.4f}]  (90 %, bootstrap over runs; "
            f"WSD lower: {'yes' if w.prediction < c.prediction else 'NO'})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120.0)
    ap.add_argument("--targets", default="c4_loss,pile_loss")
    ap.add_argument("--splits", default="1B,10x")
    ap.add_argument("--bootstrap", type=int, default=20)
    args = ap.parse_args(argv)
    if not TABLE.exists():
        print(f"needs {TABLE}", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    runs = pd.read_csv(TABLE)
    print(f"{'split':<5} {'target':<10} {'recommended':>11} {'chinchilla':>10} {'sched pick':>10} "
          f"{'sched best':>10} {'wall s':>7}  recommended law")
    notes = []
    for split in args.splits.split(","):
        for target in args.targets.split(","):
            t = time.perf_counter()
            res = discover.discover(runs, target=target, features=["non_embedding_params", "tokens"],
                                    split=SPLITS[split], time_budget=args.budget, bootstrap=args.bootstrap,
                                    **CURVE)
            wall = time.perf_counter() - t
            best = res.best_scored
            pick = catalog_pick(res, SCHEDULE_LAWS)
            sched_best = max((held_out_r2(_law(res, n)) for n in SCHEDULE_LAWS if _law(res, n) is not None),
                             default=np.nan)
            print(f"{split:<5} {target:<10} {held_out_r2(best):>11.4f} {held_out_r2(_law(res, 'hoffmann2022')):>10.4f} "
                  f"{held_out_r2(pick):>10.4f} {sched_best:>10.4f} {wall:>7.1f}  {best.law.name} "
                  f"({best.law.n_constants} constants; pick {pick.law.name if pick else '-'})")
            if split == "1B":
                notes.append(f"{target}: {forecast(res, runs)}")
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
