"""Every script in examples/ runs to completion (exit code 0) and prints what it promises.

So does the quickstart notebook, executed headless in a fresh kernel. Together they take about two
minutes on an idle machine (the slowest is the 20-second grammar search in hyperparameter_law.py),
so they stay in the default suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_every_example_is_covered():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    covered = set(EXPECT) | DEDICATED
    assert scripts == sorted(covered), f"examples without a test here: {set(scripts) - covered}"


#: Examples with a test of their own below (they read ../shared, or check more than their output's words).
DEDICATED = {"learning_curves.py"}


EXPECT = {
    "chinchilla.py": ["recommended: hoffmann2022", "forecast loss at 70B params", "compute-optimal at C = 5.76e23",
                      "report.html"],
    "benchmark_published_laws.py": ["with published constants", "refitted on these runs", "hoffmann2022"],
    "hyperparameter_law.py": ["lr_bs_grid: 448 runs", "recommended", "generating law"],
}


@pytest.mark.parametrize("script", sorted(EXPECT))
def test_example_runs(script, tmp_path):
    args = ("--out", str(tmp_path / "out")) if script == "chinchilla.py" else ()
    proc = _run(script, *args, cwd=tmp_path)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    for text in EXPECT[script]:
        assert text in proc.stdout, f"{script}: {text!r} not in output:\n{proc.stdout[-2000:]}"
    if script == "chinchilla.py":
        assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "results.json").is_file()
    assert not list(tmp_path.glob("*.csv"))  # the benchmark example cleans up its temporary CSV


def test_quickstart_notebook_runs_headless_and_shows_its_outputs(tmp_path):
    """The notebook runs top to bottom in a fresh kernel; its outputs are never committed."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat comes with the test extras")
    nbclient = pytest.importorskip("nbclient", reason="nbclient comes with the test extras")
    path = EXAMPLES / "quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit the notebook without outputs"
    os.environ.setdefault("MPLBACKEND", "Agg")
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    kinds = [set(out.get("data", {})) for c in code for out in c.outputs]
    shown = set().union(*kinds)
    assert {"text/html", "image/png", "text/latex"} <= shown, shown
    assert not [out for c in code for out in c.outputs if out.get("output_type") == "error"]
    html = "".join(out["data"]["text/html"] for c in code for out in c.outputs if "text/html" in out.get("data", {}))
    assert "recommended" in html.lower() and "test" in html.lower()
    text = "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for c in code for out in c.outputs)
    assert "def predicted_loss(" in text and "tokens_per_param" in text


CURVES = ROOT.parent / "shared" / "data" / "olmo_ladder_curves" / "curves.csv"


@pytest.mark.skipif(not CURVES.exists(), reason="needs ../shared/data/olmo_ladder_curves/curves.csv beside the checkout")
def test_learning_curves_forecasts_the_1b_runs_and_a_planned_schedule(tmp_path):
    p = _run("learning_curves.py", "--out", str(tmp_path), "--budget", "5", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "1B-10xC" in p.stdout and "test R² on the 1B curves" in p.stdout
    line = next(l for l in p.stdout.splitlines() if l.startswith("planned 1B run"))
    wsd = float(line.split("WSD ends at ")[1].split()[0].rstrip(","))
    const = float(line.split("constant LR at ")[1].split()[0].rstrip(","))
    assert wsd < const  # annealing lowers the end of the curve
    for name in ("results.json", "learning_curves.png", "planned_schedule.png"):
        assert (tmp_path / name).stat().st_size > 0
