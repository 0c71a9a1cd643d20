"""Compare selection rules offline on a finished benchmark, without refitting anything.

Reads every cell of ``discover bench ... --out DIR`` (each cell's results.json keeps
every law's residuals on the selection bands and on the test rows) and applies
each rule variant below to the same candidates, printing per task the chosen
law's test error over the best candidate's (the regret) and whether it loses
to the catalog law the same rule picks among catalog laws. A rule is chosen on
the ``dev`` half of the real suite and confirmed on the ``confirm`` half.

    python benchmarks/selection_rules.py bench/real [--half dev]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from discover.flags import BELOW_ZERO
from discover.select import Z_PARSIMONY, recommend


def _floats(values):
    return np.array([float(v) for v in values], float)


def load(out: Path, half: str | None):
    tasks = {}
    halves = {json.loads(p.read_text()).get("name", p.stem): json.loads(p.read_text()).get("half")
              for p in (Path(__file__).resolve().parent / "real").glob("*.json")}
    for cell in sorted((out / "cells").iterdir()):
        doc_path = cell / "results.json"
        if not doc_path.exists():
            continue
        doc = json.loads(doc_path.read_text())
        name = doc["dataset"]["name"]
        base = name.split(":")[0]
        if half and halves.get(base) != half:
            continue
        res = doc.get("bench_residuals") or {}
        laws = []
        for law in doc["laws"]:
            r = res.get(law["name"])
            if r is None or law.get("status") != "ok" or "no forecast" in (law.get("flags") or []):
                continue
            sel = {k: _floats(v) for k, v in r["select"].items()}
            test = _floats(r["test"])
            pooled = np.concatenate(list(sel.values())) if sel else np.zeros(0)
            if not len(pooled) or not np.all(np.isfinite(pooled)) or not len(test):
                continue
            laws.append({"name": law["name"], "k": law["n_constants"], "cx": law["complexity"],
                         "catalog": str(law["provenance"]).startswith("catalog"),
                         "clean": not law.get("flags") and law.get("converged", True) and not law.get("at_bounds"),
                         "admissible": not any(str(f).startswith(BELOW_ZERO) for f in law.get("flags") or []),
                         "sel": sel, "err": float(np.sqrt(np.mean(pooled**2))),
                         "test": float(np.sqrt(np.mean(test**2))) if np.all(np.isfinite(test)) else math.inf,
                         "test_res": test})
        if laws:
            tasks[name] = laws
    return tasks


RULES = {
    "shipped (z=2 to replace the catalog default, simplest within 1 SE)": dict(z=2.0, catalog=True),
    "simplest within 2 SE (the rule before)": dict(z=2.0, catalog=True, z_parsimony=2.0),
    "both bars widened to Student's t, catalog default": dict(z=2.0, catalog=True, small_sample=True),
    "shipped, replicated on every fold": dict(z=2.0, catalog=True, replicate=True),
    "simplest within 1 SE, no catalog default, replicated on every fold": dict(z=2.0, catalog=False, replicate=True),
    "z=1 for both, catalog default": dict(z=1.0, catalog=True),
    "simplest within 1 SE, no catalog default": dict(z=2.0, catalog=False),
    "lowest selection error": dict(z=0.0, catalog=False, tolerance=0.0, z_parsimony=0.0),
}


def choose(laws, z, catalog, tolerance=0.02, replicate=False, small_sample=False, z_parsimony=Z_PARSIMONY):
    errs = [law["err"] for law in laws]
    sizes = [(law["k"], law["cx"]) for law in laws]
    return recommend(errs, sizes, residuals=[law["sel"] for law in laws],
                     catalog=[law["catalog"] for law in laws] if catalog else None,
                     clean=[law["clean"] for law in laws], tolerance=tolerance, z=z, replicate=replicate,
                     small_sample=small_sample, admissible=[law["admissible"] for law in laws],
                     z_parsimony=z_parsimony)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--half", default=None)
    args = ap.parse_args(argv)
    tasks = load(args.out, args.half)
    for rule, kw in RULES.items():
        regrets, losses = [], 0
        lines = []
        for name, laws in tasks.items():
            oracle = min(law["test"] for law in laws)
            c = choose(laws, **kw)
            if c.recommended is None:
                continue
            rec = laws[c.recommended]
            pick = choose([law for law in laws if law["catalog"]], z=kw["z"], catalog=True,
                          replicate=kw.get("replicate", False), small_sample=kw.get("small_sample", False),
                          z_parsimony=kw.get("z_parsimony", Z_PARSIMONY)) if any(
                law["catalog"] for law in laws) else None
            cat_laws = [law for law in laws if law["catalog"]]
            cat = cat_laws[pick.recommended] if pick and pick.recommended is not None else None
            regret = rec["test"] / oracle if oracle > 0 else math.nan
            lose = None
            if cat is not None and cat["name"] != rec["name"]:
                d = rec["test_res"] ** 2 - cat["test_res"] ** 2
                z = d.mean() / (d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 and d.std() > 0 else 0.0
                lose = rec["test"] / cat["test"] > 1.1 or z > 1.645
                losses += bool(lose)
            regrets.append(regret)
            lines.append(f"  {name:32s} regret {regret:6.2f}  {'LOSES' if lose else '     '}  k={rec['k']:<2d} "
                         f"{rec['name'][:60]}")
        print(f"{rule}: median regret {np.median(regrets):.2f}, loses to the catalog pick on {losses}/{len(regrets)}")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
