"""Does the time budget bound the whole run? ``discover run`` on the SLD tables, wall time measured
from outside (the process, reports included), against ``--time-budget``.

    python benchmarks/budget.py [--budget 120] [--out /tmp/budget] [--tables vocab,sft,data_constrained]

Prints, per table: the wall time, its ratio to the budget, the phases' times from results.json,
the bootstrap resamples used, and the recommended law's test R². The tables and their task files
are read from ``../shared/data/sld`` beside the checkout. Issue 20's target: wall <= 1.1 x budget.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from discover import Result

SLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "sld"


def run(name: str, budget: float, out: Path, extra: list[str]) -> dict:
    task = json.loads((SLD / f"{name}.json").read_text())
    cmd = [sys.executable, "-m", "discover", "run", str(SLD / task["table"]), "--target", task["target"],
           "--features", ",".join(task["features"]), "--split", task["split"], "--time-budget", str(budget),
           "--out", str(out / name), "--quiet", *extra]
    if task.get("group"):
        cmd += ["--group", task["group"]]
    t = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t
    if proc.returncode != 0:
        return {"table": name, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}
    res = Result.from_json(out / name / "results.json")
    best = res.best_scored
    return {"table": name, "wall_s": round(wall, 1), "ratio": round(wall / budget, 3), "timing": res.timing,
            "bootstrap_used": res.options.get("bootstrap_used"), "law": best.law.name,
            "test_r2": best.metrics.get("test", {}).get("r2")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120.0)
    ap.add_argument("--out", default="/tmp/discover-budget")
    ap.add_argument("--tables", default="vocab,sft,data_constrained")
    ap.add_argument("extra", nargs="*", help="more flags for discover run (after --)")
    args = ap.parse_args(argv)
    if not SLD.exists():
        print(f"needs {SLD}", file=sys.stderr)
        return 2
    out = Path(args.out)
    rows = [run(name, args.budget, out, args.extra) for name in args.tables.split(",")]
    for r in rows:
        if "error" in r:
            print(f"{r['table']:<18} failed: {r['error']}")
            continue
        phases = " ".join(f"{k[:-2]}={v:.0f}" for k, v in (r["timing"] or {}).items() if k != "total_s")
        print(f"{r['table']:<18} wall {r['wall_s']:>6.1f} s  ({r['ratio']:.2f} x budget)  {phases}  "
              f"bootstrap {r['bootstrap_used']}  test R2 {r['test_r2']:.4f}  {r['law'][:60]}")
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
