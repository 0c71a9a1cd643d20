"""Fingerprints of fixed-count runs, for checking that a refactor changes no behaviour.

Runs ``discover fit`` and ``discover run --max-forms N`` on the demo table,
SLDBench's sft table (when ``../shared`` is beside the checkout) and three
synthetic tasks, and writes each results.json with its timing fields removed
(wall times, the total time) into OUT. Run it before and after a change and
compare the two directories with ``diff -r`` (keys keep their order): a search that ends on its form
count fits the same forms on any machine, so the files must be identical.

    python benchmarks/fingerprint.py out/fp-before
    ... change the code ...
    python benchmarks/fingerprint.py out/fp-after && diff -r out/fp-before out/fp-after
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TIMING_KEYS = {"timing", "wall_s", "saved_at"}


def _mask(obj):
    if isinstance(obj, dict):
        return {k: _mask(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_mask(v) for v in obj]
    return obj


def cases(tmp: Path) -> dict[str, list[str]]:
    from discover.bench import synthetic

    demo = str(ROOT / "datasets" / "chinchilla_grid.csv")
    out = {
        "demo_fit": ["fit", demo, "--target", "loss", "--features", "params,tokens", "--split", "compute:0.2",
                     "--bootstrap", "20"],
        "demo_run": ["run", demo, "--target", "loss", "--features", "params,tokens", "--split", "compute:0.2",
                     "--time-budget", "900", "--max-forms", "120", "--bootstrap", "20"],
    }
    sft = SHARED / "sld" / "sft.csv"
    if sft.exists():
        out["sft_run"] = ["run", str(sft), "--target", "sft_loss", "--features", "sft_data_size", "--group", "group",
                          "--split", "column:split", "--time-budget", "900", "--max-forms", "80", "--bootstrap", "10"]
    for name in ("chinchilla", "broken_power_law", "data_constrained"):
        t = synthetic.task(name, seed=0)
        path = tmp / f"{name}.csv"
        t.frame.to_csv(path, index=False)
        out[f"syn_{name}"] = ["run", str(path), "--target", t.target, "--features", ",".join(t.features),
                              "--split", "column:split", "--time-budget", "900", "--max-forms", "100",
                              "--bootstrap", "0"]
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python benchmarks/fingerprint.py OUT_DIR", file=sys.stderr)
        return 2
    dest = Path(argv[0])
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, args in cases(tmp).items():
            run_dir = tmp / f"out_{name}"
            cmd = [sys.executable, "-m", "discover.cli", *args, "--out", str(run_dir), "--quiet"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name}: exit {proc.returncode}: {proc.stderr.strip()}", file=sys.stderr)
                return 1
            doc = json.loads((run_dir / "results.json").read_text())
            (dest / f"{name}.json").write_text(json.dumps(_mask(doc), indent=1))
            print(f"{name}: {len(doc['laws'])} laws, recommended {doc['recommended']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
