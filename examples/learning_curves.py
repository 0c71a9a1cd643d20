"""Forecast the whole learning curves of a larger model, schedule and all.

Fits laws on the OLMo ladder's 190M, 370M and 760M curves (every evaluation
from step 1,000, with its learning rate), forecasts the 1B runs' curves, and
compares with what the 1B runs did. The laws read the LR schedule through its
derived features (forward area S1, annealing area S2, the multi-power loss
drop), so one law covers runs whose cosine schedules are stretched to
different lengths. Then it forecasts a planned 1B run under a WSD schedule
(constant, then a linear decay) against the same run at a constant LR.

    python examples/learning_curves.py [--out out/examples/learning_curves] [--budget 20]

Needs the table ``../shared/data/olmo_ladder_curves/curves.csv`` beside the
checkout. About a minute on a laptop core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import discover
from discover.schedule import lr_schedule
from discover.report.figures import save_png_atomic, schedule_forecast_figure

TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "olmo_ladder_curves" / "curves.csv"
CURVE = dict(curve="run", step="step", lr="lr", min_step=1000)
FEATURES = ["non_embedding_params", "tokens"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/examples/learning_curves")
    ap.add_argument("--budget", type=float, default=20.0, help="search time budget in seconds (default 20)")
    ap.add_argument("--target", default="c4_loss")
    args = ap.parse_args(argv)
    if not TABLE.exists():
        print(f"this example needs {TABLE} (the shared data beside the checkout)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = pd.read_csv(TABLE)
    split = "largest:non_embedding_params:0.2"  # the 1B runs, whole curves
    res = discover.discover(runs, target=args.target, features=FEATURES, split=split, time_budget=args.budget,
                            bootstrap=20, **CURVE)
    res.to_json(out / "results.json")
    best = res.best_scored
    print(f"recommended: {best.law.name}  ({len(best.law.params)} constants)")
    print(f"{'law':<40} {'test R² on the 1B curves':>26}")
    for name in (best.law.name, "tissue2024_N", "luo2025_N", "hoffmann2022"):
        s = res.get(name)
        print(f"{name[:40]:<40} {s.metrics['test']['r2']:>26.4f}")

    # what the 1B runs did, against the forecast at their last evaluation
    big = runs[(runs.non_embedding_params == runs.non_embedding_params.max()) & (runs.step >= 1000)]
    print(f"\n{'1B run':<14} {'last step':>10} {'observed':>9} {'forecast':>9}")
    for run, curve in big.groupby("run", sort=False):
        pred = res.predict_schedule(curve[["step", "lr", "tokens"]], at={"non_embedding_params": curve.non_embedding_params.iloc[0]})
        print(f"{run:<14} {int(curve.step.iloc[-1]):>10} {curve[args.target].iloc[-1]:>9.4f} "
              f"{pred['prediction'].iloc[-1]:>9.4f}")

    # a planned 1B run of 2x Chinchilla tokens: WSD against a constant LR. Only a law that reads the
    # annealing (lr_anneal or lr_drop) can tell the two apart: the recommended one if it does, else the
    # best-ranked law that does
    reads_anneal = [s for s in res.laws if s.ok and {"lr_anneal", "lr_drop"} & set(s.law.variables)]
    law = best if any(s is best for s in reads_anneal) else reads_anneal[0]
    if law is not best:
        print(f"\nthe recommended law does not read the anneal; the schedule forecast uses {law.law.name}")
    ref = big[big.run == "1B-2xC"]
    steps = np.arange(50.0, ref.step.max() + 1, 250.0)
    peak, per_step = float(ref.lr_peak.iloc[0]), float(ref.batch_size_tokens.iloc[0])
    forecasts = {}
    for kind in ("wsd", "constant"):
        plan = pd.DataFrame({"step": steps, "lr": lr_schedule(steps, peak, kind), "tokens": steps * per_step})
        forecasts[kind] = res.predict_schedule(plan, at={"non_embedding_params": float(ref.non_embedding_params.iloc[0])},
                                               law=law.law.name, interval=0.9 if law.samples else None)
    w, c = forecasts["wsd"].iloc[-1], forecasts["constant"].iloc[-1]

    def band(r):
        return f" [{r.lower:.4f}, {r.upper:.4f}]" if "lower" in r else ""
    print(f"\nplanned 1B run, {int(steps.max())} steps: WSD ends at {w.prediction:.4f}{band(w)}, "
          f"constant LR at {c.prediction:.4f}{band(c)}" + (" (90 % bootstrap over runs)" if law.samples else ""))
    f = forecasts["wsd"]
    lo, hi = (f.lower.to_numpy(), f.upper.to_numpy()) if "lower" in f else (None, None)
    fig = schedule_forecast_figure(f.step.to_numpy(), f.lr.to_numpy(), f.prediction.to_numpy(), lo, hi,
                                   law.law.name, args.target, 0.9,
                                   others=[{"name": "constant LR", "step": forecasts["constant"].step,
                                            "lr": forecasts["constant"].lr, "pred": forecasts["constant"].prediction}])
    save_png_atomic(fig, out / "planned_schedule.png")
    save_png_atomic(res.plot("curves", data=runs), out / "learning_curves.png")
    print(f"wrote {out / 'results.json'}, {out / 'learning_curves.png'}, {out / 'planned_schedule.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
