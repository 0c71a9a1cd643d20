"""Benchmark: the engine on tables shaped like real tasks that are not in ``shared/``.

SLDBench has tasks whose tables we do not hold: U-shaped downstream scores
against ``log_flops`` per benchmark task, a learning-rate x batch-size x N x D
sweep of a few thousand runs, five mixture shares with five domain losses per
model size, ParScale streams, and MoE experts. Their task configs give the
columns, row counts and ranges; this script makes tables of those shapes from
laws with made-up constants (written below, 1 % noise unless said), runs
:func:`discover.discover` on each as a user would, and prints per table: the
wall time, the recommended law, its validation and test error, and the noise.

It is not a test: it is how a change is checked against task shapes the suite
does not cover (a column already on a log axis, several targets, groups, a
large table of many-constant laws). Figures from a run are in the issue notes.

    python benchmarks/task_shapes.py [--budget 60] [--only easy_question,lr_bsz]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import discover
from discover.targets import run_each


def _mult(rng, y, s=0.01):
    return np.asarray(y, float) * np.exp(rng.normal(0.0, s, len(y)))


def easy_question(rng):
    """Scores that worsen, then improve, with log10 compute: a bump and a step per task."""
    rows = []
    for t in range(6):
        x0, x1, w = rng.uniform(0.3, 1.5), rng.uniform(1.5, 2.5), rng.uniform(0.4, 0.8)
        for x in np.sort(rng.uniform(-0.9, 2.9, 65)):
            brier = 0.22 + 0.10 * np.exp(-((x - x0) ** 2) / w) - 0.15 / (1 + np.exp(-3 * (x - x1)))
            rows.append((f"task{t}", x, -(brier + rng.normal(0, 0.01))))
    frame = pd.DataFrame(rows, columns=["task", "log_flops", "brier_score"])
    frame["split"] = np.where(frame.log_flops > 2.2, "test", "train")
    return frame, dict(target="brier_score", features=["log_flops"], group="task"), "additive 0.01"


def lr_bsz(rng):
    """A StepLaw-like sweep: Chinchilla floor plus bowls in log lr (centre moving with N and D) and
    log batch size (centre moving with D); the largest model is the test set."""
    g = [(lr, bs, d, n) for n in np.geomspace(6e7, 1.07e9, 6) for d in np.geomspace(2e9, 1e11, 5)
         for lr in np.geomspace(2.44e-4, 2.21e-2, 9) for bs in 2.0 ** np.arange(4, 12)]
    frame = pd.DataFrame(g, columns=["lr", "bsz", "data_size", "non_embedding_param_size"])
    n, d = frame.non_embedding_param_size, frame.data_size
    lr_opt, bs_opt = 1.79 * n**-0.713 * d**0.307, 0.58 * d**0.571 / 2048
    loss = (1.8 + 400 / n**0.34 + 900 / d**0.28 + 0.04 * np.log(frame.lr / lr_opt) ** 2
            + 0.015 * np.log(frame.bsz / bs_opt) ** 2)
    frame["lm_loss"] = _mult(rng, loss)
    frame["split"] = np.where(n >= n.max(), "test", "train")
    return frame, dict(target="lm_loss", features=["lr", "bsz", "data_size", "non_embedding_param_size"]), "1 %"


def domain_mixture(rng):
    """Five shares, five losses, four model sizes (groups); each loss c_i + k_i exp(T_i . r)."""
    T = rng.uniform(-1.2, 0.4, (5, 5))
    np.fill_diagonal(T, rng.uniform(-3, -1.5, 5))
    mixes = [rng.dirichlet(np.ones(5) * 0.8) for _ in range(24)]
    rows = []
    for size, scale in [("70M", 1.3), ("160M", 1.15), ("410M", 1.05), ("1B", 1.0)]:
        for k, r in enumerate(mixes):
            losses = _mult(rng, [scale * (1.6 + 0.3 * i + 0.9 * np.exp(T[i] @ r)) for i in range(5)])
            rows.append((size, *r, *losses, "test" if k >= 20 else "train"))
    shares = [f"proportion_domain_{i + 1}" for i in range(5)]
    targets = [f"loss_domain_{i + 1}" for i in range(5)]
    frame = pd.DataFrame(rows, columns=["model", *shares, *targets, "split"])
    return frame, dict(targets=targets, features=shares, group="model"), "1 %"


def parallel(rng):
    """ParScale: (A / (N (k log P + 1)))^a + E per dataset, P in {1, 2, 4}."""
    rows = []
    for grp, (A, E, a) in {"pile": (3.0e3, 1.4, 0.33), "stack": (4.0e2, 0.75, 0.30)}.items():
        for N in np.geomspace(5.36e8, 4.38e9, 6):
            for P in (1, 2, 4):
                rows.append((grp, N, P, (A / (N * (0.4 * np.log(P) + 1))) ** a + E))
    frame = pd.DataFrame(rows, columns=["group", "num_params", "parallel_size", "loss"])
    frame["loss"] = _mult(rng, frame.loss, 0.003)
    frame["split"] = np.where(frame.num_params >= frame.num_params.max(), "test", "train")
    return frame, dict(target="loss", features=["num_params", "parallel_size"], group="group"), "0.3 %"


def moe(rng):
    """Clark et al.'s bilinear law in log N and log E, 193 runs."""
    dp = np.geomspace(1e8, 8e8, 28)
    g = [(e, p) for e in (1, 2, 4, 8, 16, 32, 64) for p in dp][:193]
    frame = pd.DataFrame(g, columns=["num_experts", "dense_parameter_count"])
    lN, lE = np.log(frame.dense_parameter_count / 1e8), np.log(frame.num_experts)
    frame["loss_validation"] = _mult(rng, np.exp(np.log(3.6) - 0.082 * lN - 0.045 * lE + 0.006 * lN * lE))
    frame["split"] = np.where(frame.dense_parameter_count >= dp[-5], "test", "train")
    return frame, dict(target="loss_validation", features=["num_experts", "dense_parameter_count"]), "1 %"


SHAPES = {f.__name__: f for f in (easy_question, lr_bsz, domain_mixture, parallel, moe)}


def _num(v, fmt=".4f"):
    return format(v, fmt) if isinstance(v, (int, float)) and v is not None else "n/a"


def _line(name, target, res, wall, noise):
    s = res.best_scored
    key = "rmse_log" if s.metrics["val"].get("rmse_log") is not None else "rmse"
    val, test, r2 = s.metrics["val"].get(key), s.metrics["test"].get(key), s.metrics["test"].get("r2")
    print(f"{name:15s} {target:18s} {wall:6.1f}s  val {key} {_num(val)}  test {key} {_num(test)}"
          f"  test R2 {_num(r2)}  noise {noise}  n_laws {len(res.laws)}\n    {s.law.formula}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=60.0, help="time budget per table (s)")
    ap.add_argument("--only", default="", help="comma-separated shapes: " + ",".join(SHAPES))
    ap.add_argument("--seed", type=int, default=1, help="seed of the made-up tables")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(SHAPES)
    warnings.simplefilter("ignore")
    for name in names:
        frame, kw, noise = SHAPES[name](np.random.default_rng(args.seed))
        t0 = time.perf_counter()
        common = dict(split="column:split", time_budget=args.budget, bootstrap=0, seed=0, name=name)
        if "targets" in kw:
            out = run_each(discover.discover, frame, kw.pop("targets"), **kw, **common)
            wall = time.perf_counter() - t0
            for target, res in out.items():
                _line(name, target, res, wall, noise)
        else:
            res = discover.discover(frame, **kw, **common)
            _line(name, kw["target"], res, time.perf_counter() - t0, noise)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
