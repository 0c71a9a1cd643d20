"""Benchmark: whole learning curves of a ladder up to 7B, drawn from schedule-aware laws not in the catalog.

The OLMo ladder (``benchmarks/schedule_curves.py``) is the one real table of
curves with learning rates that we hold, and its largest model is 1B. Curve
tables of larger models will differ from it; this checks the same machinery on
ladders it was not developed on, whose truth is known:

* six sizes, 150M to 7B; three token budgets (5, 15 and 50 tokens per
  parameter); two schedules each (cosine to 10 % of the peak, and
  warmup-stable-decay with a linear decay over the last 20 % of the steps);
  the peak LR falls with size (as N^-0.35); 100 evaluations per run, from 1 %
  of its steps; a batch of 2^20 tokens; multiplicative noise of 0.4 %;
* the 7B curves are held out whole (``largest:params:0.1``); every run's rows from step 100 on
  are fitted or tested.

Two truths, neither a catalog law:

* ``anneal_data``: Chinchilla's form over the tokens seen, its data term lowered
  by a saturating function of the annealing area S2 (an anneal helps in
  proportion to what the data term leaves to gain);
* ``area_size``: a power law in the forward area S1 whose amplitude shrinks
  with model size, lowered by the multi-power law's loss drop.

The schedule features the truths read are computed by
:func:`discover.schedule.run_features` (tested against hand computations in
``tests/test_curves.py``). For each ladder it runs :func:`discover.discover`
as a user would and prints the test R² on the 7B curves of the recommended law,
Chinchilla's form on curve points (``hoffmann2022``), the catalog schedule law
the selection rule picks among the schedule laws, the best of those in
hindsight, and the noise-free truth (the ceiling noise leaves).

    python benchmarks/synthetic_curves.py [--budget 120] [--seeds 0] [--truths anneal_data,area_size]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

import discover
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.schedule import run_features
from discover.splits import TEST
from schedule_curves import SCHEDULE_LAWS, catalog_pick, held_out_r2  # beside this file

SIZES = (1.5e8, 3e8, 6e8, 1.2e9, 2.4e9, 7e9)
TOKENS_PER_PARAM = (5, 15, 50)
BATCH = 2 ** 20
EVALS = 100
NOISE = 0.004
SPLIT = "largest:params:0.1"  # the runs at the top tenth of sizes; ties keep all six 7B runs together
MIN_STEP = 100


def cosine(steps: np.ndarray, peak: float, warmup: float, final: float = 0.1) -> np.ndarray:
    """Linear warmup, then a cosine from the peak to ``final`` times it at the last step."""
    frac = np.clip((steps - warmup) / (steps.max() - warmup), 0.0, 1.0)
    lr = peak * (final + (1 - final) * 0.5 * (1 + np.cos(np.pi * frac)))
    return np.where(steps < warmup, peak * steps / warmup, lr)


def wsd(steps: np.ndarray, peak: float, warmup: float, decay: float = 0.2) -> np.ndarray:
    """Linear warmup, the peak held, then a linear decay to zero over the last ``decay`` of the steps."""
    start = (1 - decay) * steps.max()
    lr = np.where(steps > start, peak * (steps.max() - steps) / (steps.max() - start), peak)
    return np.where(steps < warmup, peak * steps / warmup, lr)


def truth(name: str, n: float, tokens: np.ndarray, peak: float, feats: dict) -> np.ndarray:
    """The noise-free loss of one run at its evaluations."""
    if name == "anneal_data":
        data = 400.0 / tokens ** 0.29
        gain = 1 - np.exp(-feats["lr_anneal"] / (50.0 * peak * 1000))
        return 1.8 + 420.0 / n ** 0.34 + data * (1 - 0.45 * gain)
    if name == "area_size":
        area = 0.9 * (n / 1e9) ** -0.1 * (feats["lr_area"] + 0.05) ** -0.45
        return 1.9 + 380.0 / n ** 0.33 + area - 6.0 * np.sqrt(peak) * feats["lr_drop"]
    raise ValueError(f"unknown truth {name!r}")


def ladder(name: str, seed: int) -> pd.DataFrame:
    """Every evaluation of every run of the ladder, with the noise-free loss in ``truth``."""
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    rows = []
    for n in SIZES:
        peak = 3e-3 * (n / SIZES[0]) ** -0.35
        for per_param in TOKENS_PER_PARAM:
            last = int(per_param * n / BATCH)
            fine = np.arange(1, last + 1, dtype=float)
            steps = np.unique(np.linspace(last / EVALS, last, EVALS).round())
            for kind, shape in (("cosine", cosine), ("wsd", wsd)):
                lr = np.interp(steps, fine, shape(fine, peak, min(1000.0, last / 10)))
                tokens = steps * BATCH
                clean = truth(name, n, tokens, peak, run_features(steps, lr))
                rows.append(pd.DataFrame({
                    "run": f"{n / 1e6:.0f}M-{per_param}tpp-{kind}", "params": n, "schedule": kind,
                    "step": steps, "tokens": tokens, "lr": lr, "truth": clean,
                    "loss": clean * np.exp(rng.normal(0.0, NOISE, len(steps)))}))
    return pd.concat(rows, ignore_index=True)


CURVE = dict(curve="run", step="step", lr="lr", min_step=MIN_STEP)


def truth_r2(table: pd.DataFrame) -> float:
    """The test R2 of the noise-free truth: the test rows as the tool cuts them (its own split)."""
    kept = table[table.step >= MIN_STEP].reset_index(drop=True)  # the rows the tool fits and tests, in its order
    _, split = prepare(table.drop(columns="truth"), TableSpec(target="loss", features=("params", "tokens"),
                                                               split=SPLIT, **CURVE))
    test = kept.iloc[split.rows(TEST)]
    assert set(test.params) == {max(SIZES)}
    return 1 - float(np.mean((test.loss - test.truth) ** 2) / np.var(test.loss))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120.0)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--truths", default="anneal_data,area_size")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"{'truth':<12} {'seed':>4} {'recommended':>11} {'chinchilla':>10} {'sched pick':>10} {'sched best':>10} "
          f"{'truth':>7} {'wall s':>7}  recommended law")
    for name in args.truths.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            table = ladder(name, seed)
            t = time.perf_counter()
            res = discover.discover(table.drop(columns="truth"), target="loss", features=["params", "tokens"],
                                    split=SPLIT, time_budget=args.budget, bootstrap=0, **CURVE)
            wall = time.perf_counter() - t
            ceiling = truth_r2(table)
            laws = {s.law.name: s for s in res.laws}
            pick = catalog_pick(res, SCHEDULE_LAWS)
            best = max((held_out_r2(laws[n]) for n in SCHEDULE_LAWS if n in laws), default=float("nan"))
            chinchilla = held_out_r2(laws.get("hoffmann2022"))
            print(f"{name:<12} {seed:>4} {held_out_r2(res.best_scored):>11.4f} {chinchilla:>10.4f} "
                  f"{held_out_r2(pick):>10.4f} {best:>10.4f} {ceiling:>7.4f} {wall:>7.1f}  {res.best_scored.law.name} "
                  f"({res.best_scored.law.n_constants} constants; pick {pick.law.name if pick else '-'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
