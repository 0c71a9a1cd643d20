"""Chinchilla: compare published laws on a grid of runs, forecast, and split a compute budget.

Uses the bundled table ``datasets/chinchilla_grid.csv`` (IsoFLOP-style runs generated from
the Hoffmann et al. 2022 law with 1 % noise). With ``--shared`` it uses the Epoch AI
reading of Hoffmann et al.'s Figure 4 from ../shared/data (beside the checkout) when that file is present.

    python examples/chinchilla.py [--shared] [--out out/examples/chinchilla]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import discover
from discover.optimal import compute_optimal
from discover.report import write_reports

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinchilla" / "hoffmann2022_fig4.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", action="store_true", help="use the shared Figure 4 table when it is present")
    ap.add_argument("--out", default="out/examples/chinchilla", help="where to write results.json and the report")
    args = ap.parse_args()

    if args.shared and SHARED.is_file():
        table, name = pd.read_csv(SHARED), "hoffmann2022_fig4"
    else:
        table, name = discover.datasets.load("chinchilla_grid"), "chinchilla_grid"
    print(f"{name}: {len(table)} runs, columns {list(table.columns)}")

    # 1. Refit three published laws on the same rows and rank them by how they extrapolate:
    #    the largest 20 % of runs by compute are the test set, never fitted on.
    res = discover.fit(table, target="loss", features=["params", "tokens"], split="compute:0.2",
                       laws=["hoffmann2022", "kaplan2020", "hestness2017_n"], bootstrap=30, name=name)
    board = res.leaderboard[["rank", "name", "val_rmse_log", "test_rmse_log", "test_r2", "n_constants"]]
    print(board.to_string(index=False))
    best = res.best_scored
    print(f"recommended: {best.law.name}: {best.law.formula}")
    for k, v in best.law.constants.items():
        lo, hi = best.intervals[k]
        print(f"  {k:>6} = {v:.4g}  [{lo:.4g}, {hi:.4g}]")

    # 2. Forecast: Chinchilla itself (70B parameters, 1.4T tokens), with a 95 % bootstrap interval.
    at = pd.DataFrame({"params": [7e10], "tokens": [1.4e12]})
    f = res.predict(at, interval=0.95).iloc[0]
    print(f"forecast loss at 70B params, 1.4T tokens: {f.prediction:.4f}  [{f.lower:.4f}, {f.upper:.4f}]")

    # 3. Compute-optimal allocation at Chinchilla's budget, C = 6 N D = 5.76e23 FLOPs.
    opt = compute_optimal(res, 5.76e23)
    iv = opt.intervals
    print(f"compute-optimal at C = 5.76e23 ({opt.method}): params* = {opt.n:.3g} [{iv['params'][0]:.3g}, "
          f"{iv['params'][1]:.3g}], tokens* = {opt.d:.3g} [{iv['tokens'][0]:.3g}, {iv['tokens'][1]:.3g}], "
          f"loss* = {opt.loss:.4f}; params* ~ C^{opt.exponents['params']:.3f}, tokens* ~ C^{opt.exponents['tokens']:.3f}")

    # 4. Everything on disk: results.json (the contract), report.html, report.md, figures/.
    out = Path(args.out)
    res.to_json(out / "results.json")
    written = write_reports(res, out, data=table)
    print(f"wrote {out / 'results.json'} and {written['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
