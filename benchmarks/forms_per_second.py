"""How fast does the grammar engine fit forms, on one worker process and on several?

    python benchmarks/forms_per_second.py [--forms 300] [--workers 1,2] [--profile]

Three tables of different shapes: SLD's sft table (one feature, 42 groups, a law per group),
SLD's data-constrained table (three features) and the OLMo ladder curves (four features:
parameters, tokens and the schedule's two areas, on curve points from step 1,000, thinned to
every 5th evaluation). Each search runs to a fixed form count (``max_forms``), so every run
fits the same forms; the figure is forms fitted per second of wall time -- pool start-up
included -- and its ratio to one worker (issue 20's target on 2 cores: >= 1.7). ``--profile``
prints where a one-worker search spends its time (cProfile, top functions by own time).
Run it on an otherwise idle machine: the ratio measures the cores, and a busy core halves it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path

import pandas as pd

from discover.engines.grammar import GrammarEngine
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.search import make_task

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _sld(name: str):
    task = json.loads((SHARED / "sld" / f"{name}.json").read_text())
    frame = pd.read_csv(SHARED / "sld" / task["table"])
    return frame, TableSpec(target=task["target"], features=task["features"], group=task.get("group"),
                            split=task["split"])


def _curves():
    frame = pd.read_csv(SHARED / "olmo_ladder_curves" / "curves.csv")
    frame = frame[frame.groupby("run").cumcount() % 5 == 0]
    return frame, TableSpec(target="c4_loss", features=["non_embedding_params", "tokens", "lr_area", "lr_anneal"],
                            curve="run", step="step", lr="lr", min_step=1000,
                            split="largest:non_embedding_params:0.2")


TABLES = {"sft (1 feature, grouped)": lambda: _sld("sft"),
          "data_constrained (3 features)": lambda: _sld("data_constrained"),
          "olmo curves (4 features)": _curves}


def forms_per_second(frame, spec, forms: int, workers: int) -> tuple[float, int]:
    ds, sp = prepare(frame, spec)
    task = make_task(ds, sp, [], 0, None)
    task.time_budget = 1e5  # the form count ends every search
    task.deadline = time.monotonic() + 1e5
    eng = GrammarEngine(max_forms=forms, workers=workers)
    t = time.perf_counter()
    eng.propose(task)
    return eng.n_tried / (time.perf_counter() - t), eng.n_tried


def profile(frame, spec, forms: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    forms_per_second(frame, spec, forms, 1)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=300)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    if not SHARED.exists():
        print(f"needs {SHARED}", file=sys.stderr)
        return 2
    counts = [int(w) for w in args.workers.split(",")]
    print(f"{'table':<32}" + "".join(f"{f'{w} worker(s)':>16}" for w in counts) + f"{'ratio':>8}")
    for name, load in TABLES.items():
        frame, spec = load()
        rates = {}
        for w in counts:
            rates[w], tried = forms_per_second(frame, spec, args.forms, w)
        ratio = rates[counts[-1]] / rates[counts[0]]
        print(f"{name:<32}" + "".join(f"{rates[w]:>10.1f} f/s  " for w in counts)
              + f"{ratio:>8.2f}   ({tried} forms; per core {rates[counts[-1]] / counts[-1]:.1f} f/s)")
        if args.profile:
            print(profile(frame, spec, args.forms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
