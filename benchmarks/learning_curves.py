"""Benchmark: extrapolating learning curves, one law form with constants per curve.

The "Revisiting Neural Scaling Laws" benchmark (Alabdulmohsin et al. 2022), as
collected by ColPret (``../shared/data/colpret/revisiting_lang.csv``): 20
learning curves (loss or error against examples seen) from machine
translation, language modelling and BIG-bench, each named by three columns
(Domain, Task, Model). The benchmark's own ``Training`` column says which
points are fitted (1) and which are extrapolated (0); on average a curve is
extrapolated over as many points as it is fitted on.

This runs :func:`discover.discover` as a user would (``group`` named by the
three columns, ``split="column:Training"``) and prints the wall time, the
recommended law, and the test RMSE of log loss per domain for the
recommended law, the engine's and the catalog's best laws on validation, and the
plain power law with a floor (E + A x^-a per curve), the usual baseline.

    python benchmarks/learning_curves.py [--budget 120] [--table PATH]

It is not a test; figures from a run are in the issue notes.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import discover

TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "colpret" / "revisiting_lang.csv"
GROUP = ["Domain", "Task", "Model"]


def _rmse_log(y, pred) -> float:
    with np.errstate(all="ignore"):
        r = np.log(pred) - np.log(y)
    return float(np.sqrt(np.mean(r**2))) if np.all(np.isfinite(r)) else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120.0, help="time budget of the search (s)")
    ap.add_argument("--table", default=str(TABLE), help="revisiting_lang.csv")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    frame = pd.read_csv(args.table)
    t0 = time.perf_counter()
    res = discover.discover(frame, target="Loss", features=["Seen Examples"], group=GROUP, split="column:Training",
                            time_budget=args.budget, bootstrap=0, seed=args.seed, name="revisiting_lang")
    wall = time.perf_counter() - t0
    ok = [s for s in res.laws if s.ok]
    best = res.best_scored
    shown = {"recommended": best}
    for label, prefix in (("best engine law (val)", "engine"), ("best catalog law (val)", "catalog")):
        pool = [s for s in ok if s.law.provenance.startswith(prefix)]
        if pool:
            shown[label] = min(pool, key=lambda s: s.metrics["val"].get("rmse_log", np.inf))
    floor = [s for s in ok if s.law.name == "hestness2017"]
    if floor:
        shown["E + A x^-a"] = floor[0]
    test = frame[frame["Training"] == 0]
    print(f"revisiting_lang: {len(frame)} rows, {frame.groupby(GROUP).ngroups} curves, "
          f"{len(test)} test rows; {wall:.1f} s (budget {args.budget:g} s), {len(res.laws)} laws scored")
    for e in res.engines:
        print(f"engine {e.get('name')}: {e.get('n_tried')} forms fitted in {e.get('wall_s')} s")
    print(f"recommended: {best.law.name}  ({best.law.provenance})\n    {best.law.formula}")
    domains = sorted(test["Domain"].unique())
    print(f"\n{'test RMSE(log loss)':22s}{'all':>8s} " + " ".join(f"{d:>8s}" for d in domains))
    for label, s in shown.items():
        pred = res.predict(test, law=s.law.name)
        per = [_rmse_log(test["Loss"].to_numpy()[m], pred[m]) for m in (test["Domain"] == d for d in domains)]
        print(f"{label:22s}{_rmse_log(test['Loss'].to_numpy(), pred):8.5f} "
              + " ".join(f"{v:8.5f}" for v in per) + f"   {s.law.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
