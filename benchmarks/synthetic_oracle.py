"""Benchmark: how well can *any* engine do on the synthetic suite? The true form, refit.

Every synthetic task is drawn from a known law with 1 % noise and tested on its
largest runs, beyond the fitted ones. Fitting the *true* form on the same
train + validation rows (the same refit the pipeline gives every candidate)
and scoring it on the test rows tells what extrapolation error the data allow:
a recommended law cannot be expected to do better, and where the true form
itself is far above the noise, the constants are not pinned down by the rows
(a break a decade below the largest run, an effect that only shows at the top).

Printed per task and data seed: the true form's test RMSE of log y over the
noise level (RMSE of y over the noise's standard deviation for additive
noise), its validation error against the same at the true constants, and how
many tasks reach at most 1.2x the noise. It is not a test.

    python benchmarks/synthetic_oracle.py --seeds 0,1
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from discover.bench import synthetic
from discover.options import FitOptions, TableSpec
from discover.pipeline import prepare
from discover.scoring import score_candidate
from discover.score import error_of
from discover.splits import VAL


def ratio_to_noise(task: synthetic.SyntheticTask, metrics: dict) -> float:
    if task.noise_kind == "multiplicative":
        return metrics["rmse_log"] / task.noise
    return metrics["rmse"] / task.noise_scale


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="data seeds, comma-separated")
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--limit", type=float, default=1.2, help="the target: test error at most LIMIT x the noise")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    for seed in (int(s) for s in args.seeds.split(",")):
        print(f"data seed {seed}, noise {args.noise:g}")
        print(f"  {'task':20s} {'test/noise':>10s} {'val fitted':>11s} {'val true':>9s}")
        ok = 0
        for name in synthetic.names():
            t = synthetic.task(name, seed=seed, noise=args.noise)
            ds, sp = prepare(t.frame, TableSpec(target=t.target, features=t.features, split="column:split"))
            s = score_candidate(t.truth, ds, sp, FitOptions(bootstrap=0))
            r = ratio_to_noise(t, s.metrics["test"])
            val = sp.rows(VAL)
            y, true_pred = ds.y[val], t.truth.predict(ds.X(val))
            log_space = t.noise_kind == "multiplicative"
            at_truth = float(np.sqrt(np.mean((np.log(y / true_pred) if log_space else y - true_pred) ** 2)))
            ok += r <= args.limit
            print(f"  {name:20s} {r:10.2f} {error_of(s.metrics[VAL], log_space):11.4f} {at_truth:9.4f}")
        print(f"  true form within {args.limit:g}x the noise on test: {ok}/{len(synthetic.names())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
