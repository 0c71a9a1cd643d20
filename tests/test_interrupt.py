"""Ctrl-C, SIGTERM and resume: a stopped search writes its best laws so far and a checkpoint; resume finishes it.

The subprocess tests signal a real ``discover run`` once its checkpoint shows
it is searching (the grammar engine on a two-feature table runs until its
budget is spent), so the signal lands mid-search, not before or after it.
The API test stops the scoring loop half way through with a StopFlag, then
resumes and checks the result is the one an uninterrupted run gives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import discover
from discover import catalog
from discover.checkpoint import CHECKPOINT_NAME, Checkpoint, StopFlag, stop_on_signals
from discover.search import resume

from test_determinism import assert_identical


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """Two features and enough rows that the grammar engine uses its whole budget."""
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 150))
    d = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 150))
    y = (1.7 + 400 / n**0.34 + 2000 / d**0.28) * np.exp(rng.normal(0, 0.01, 150))
    path = tmp_path_factory.mktemp("interrupt") / "runs.csv"
    pd.DataFrame({"params": n, "tokens": d, "loss": y}).to_csv(path, index=False)
    return path


def start(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DISCOVER_DEBUG"}
    return subprocess.Popen([sys.executable, "-m", "discover", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _searching(out: Path) -> bool:
    try:
        return json.loads((out / CHECKPOINT_NAME).read_text()).get("phase") == "search"
    except (OSError, ValueError):
        return False


def wait_for_search(out: Path, proc: subprocess.Popen, timeout: float = 60.0):
    """Until the run's checkpoint says the engines are searching (the catalog is scored first), plus a moment."""
    t0 = time.monotonic()
    while not _searching(out):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() - t0 < timeout, "the run never wrote its checkpoint"
        time.sleep(0.1)
    time.sleep(1.5)
    assert proc.poll() is None, "the run ended before it could be interrupted"


BUDGET = 15


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_search_writes_best_so_far_and_resume_finishes(table, tmp_path, sig, code):
    out = tmp_path / "out"
    proc = start(["run", str(table), "--target", "loss", "--features", "params,tokens", "--split", "compute:0.2",
                  "--time-budget", str(BUDGET), "--bootstrap", "4", "--quiet", "--out", str(out)])
    wait_for_search(out, proc)
    t_sig = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    stopped_after = time.monotonic() - t_sig
    data = json.loads((out / "results.json").read_text())
    assert data["status"] == f"interrupted: {signal.Signals(sig).name}"
    (engine,) = data["engines"]
    assert engine["status"] == "interrupted"
    provenances = {law["provenance"] for law in data["laws"]}
    assert any(p.startswith("catalog: ") for p in provenances)
    assert data["recommended"] is not None
    assert (out / "report.html").exists() and not list(out.glob("*.tmp*"))
    ck = Checkpoint.load(out)
    # the engine's best so far is reported: on its own, or merged into the catalog law it equals
    reported = {law["name"] for law in data["laws"]} | {n for law in data["laws"] for n in law["also"]}
    assert reported - set(catalog.names()), reported
    assert ck.phase == "interrupted" and ck.engines["grammar"]["status"] == "interrupted"
    n_saved = len(ck.engines["grammar"]["laws"])
    # every scored law is in the results, once: on its own or merged into the same function (``also``)
    assert n_saved > 0 and len(ck.scored) == len(data["laws"]) + sum(len(law["also"]) for law in data["laws"])
    # the engine stopped at the signal, not at its deadline
    assert engine["wall_s"] < BUDGET - 5, (engine["wall_s"], stopped_after)
    if sig == signal.SIGTERM:
        return  # resuming is the same after either signal; once is enough for the suite's time

    # resume: the interrupted engine gets the budget it had left; the run completes
    proc = start(["run", "--resume", str(out), "--quiet"])
    _, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err
    data = json.loads((out / "results.json").read_text())
    # The one informative warning such a table earns (compute is derived as
    # 6*params*tokens) is not a fault; anything else would be.
    faults = [w for w in data["warnings"] if "training compute" not in w]
    assert data["status"] == "complete" and not faults
    ck = Checkpoint.load(out)
    assert ck.phase == "done" and ck.engines["grammar"]["status"] == "done"
    assert len(ck.engines["grammar"]["laws"]) >= n_saved
    assert any(law.get("bootstrap") for law in data["laws"])  # the bootstrap phase ran


def test_stop_during_scoring_then_resume_gives_the_uninterrupted_result(tmp_path):
    small = tmp_path / "small.csv"
    n = np.geomspace(1e7, 1e10, 12)
    y = (1.8 + 400 / n**0.33) * (1 + 0.003 * np.sin(np.arange(12) * 2.1))
    pd.DataFrame({"params": n, "loss": np.round(y, 6)}).to_csv(small, index=False)
    args = dict(target="loss", features=["params"], split="largest:params:0.2", time_budget=60.0, bootstrap=3, seed=7)

    full = discover.discover(str(small), **args)
    assert full.status == "complete" and full.engines[0]["wall_s"] < 30  # the engine finished early

    stop = StopFlag()
    scored_seen = []
    searched = []

    def progress(done, total=None, scored=None, **_):
        if total is None:  # the engine reports total=None; the catalog is scored before it, its laws after
            searched.append(done)
        elif searched:
            scored_seen.append(done)
            if done == 3:
                stop.set("test")

    part = discover.discover(str(small), **args, checkpoint=tmp_path / "ck", stop=stop, progress=progress)
    n_catalog = sum(1 for s in part.laws if str(s.law.provenance).startswith("catalog"))
    assert part.status == "interrupted: test" and len(part.laws) < len(full.laws)
    assert max(scored_seen) == 3 and n_catalog == sum(1 for s in full.laws if str(s.law.provenance).startswith("catalog"))
    assert Checkpoint.load(tmp_path / "ck").phase == "interrupted"

    refits = []
    done = resume(tmp_path / "ck", progress=lambda d, total=None, scored=None, **_: refits.append(d))
    assert done.status == "complete"
    full.to_json(tmp_path / "full.json")
    done.to_json(tmp_path / "done.json")
    assert_identical(tmp_path / "full.json", tmp_path / "done.json")
    # and the resumed run did not fit the engine again: its laws came from the checkpoint
    assert done.engines == part.engines or done.engines[0]["n_laws"] == part.engines[0]["n_laws"]


def test_resume_refuses_a_changed_table(table, tmp_path):
    copy = tmp_path / "runs.csv"
    copy.write_bytes(table.read_bytes())
    stop = StopFlag()
    stop.set("test")  # stop at once: only the checkpoint matters here
    discover.discover(str(copy), target="loss", features=["params", "tokens"], split="compute:0.2",
                      time_budget=5, bootstrap=0, checkpoint=tmp_path / "ck", stop=stop)
    frame = pd.read_csv(copy)
    frame.loc[0, "loss"] *= 1.01
    frame.to_csv(copy, index=False)
    with pytest.raises(discover.DataError, match="table changed"):
        resume(tmp_path / "ck", stop=StopFlag())


def test_resume_refuses_other_settings(table, tmp_path):
    stop = StopFlag()
    stop.set("test")
    args = dict(target="loss", features=["params", "tokens"], split="compute:0.2", bootstrap=0)
    discover.discover(str(table), **args, time_budget=5, checkpoint=tmp_path / "ck", stop=stop)
    with pytest.raises(discover.DataError, match="other settings.*seed"):
        discover.discover(str(table), **args, time_budget=5, seed=1, checkpoint=tmp_path / "ck", resume=True,
                          stop=StopFlag())


@pytest.mark.parametrize("content, message", [
    ("", "not valid JSON"),
    ("[1, 2]", "not a discover checkpoint"),
    ('{"checkpoint_schema": "2", "engines": [1]}', "not an object"),
])
def test_bad_checkpoints_are_one_line_errors(tmp_path, content, message):
    (tmp_path / CHECKPOINT_NAME).write_text(content)
    with pytest.raises(discover.DataError, match=message):
        resume(tmp_path)


def test_checkpoint_formulas_go_through_the_safe_parser(tmp_path, table):
    stop = StopFlag()
    stop.set("test")
    discover.discover(str(table), target="loss", features=["params", "tokens"], split="compute:0.2", bootstrap=0,
                      time_budget=5, checkpoint=tmp_path, stop=stop)
    data = json.loads((tmp_path / CHECKPOINT_NAME).read_text())
    data["engines"] = {"grammar": {"status": "done", "wall_s": 1, "info": {"name": "grammar"},
                                   "laws": [{"law": {"name": "x", "expression": "__import__('os').system('true')",
                                                     "variables": ["params"]}}]}}
    (tmp_path / CHECKPOINT_NAME).write_text(json.dumps(data))
    with pytest.raises(discover.DataError):
        resume(tmp_path, stop=StopFlag())


def test_cli_resume_errors(tmp_path, table, capsys):
    from discover.cli import main

    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["run", "--resume", str(tmp_path), str(table)]) == 2
    assert "give only --resume" in capsys.readouterr().err
    assert main(["run", "--target", "loss"]) == 2
    assert "table of runs is missing" in capsys.readouterr().err


def test_second_signal_quits_at_once():
    flag = StopFlag()
    with stop_on_signals(flag):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert flag.reason == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    # the previous handlers are back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_result(table, tmp_path):
    """A killed process (no handler runs) loses at most the law being fitted: resuming from its
    checkpoint gives the result an uninterrupted run gives (timing masked). The search ends on its
    form count, so both runs fit the same forms."""
    args = ["run", str(table), "--target", "loss", "--features", "params,tokens", "--split", "compute:0.2",
            "--time-budget", "600", "--max-forms", "40", "--bootstrap", "3", "--quiet"]
    whole = tmp_path / "whole"
    proc = start([*args, "--out", str(whole)])
    assert proc.wait(timeout=600) == 0, proc.communicate()[1]
    killed = tmp_path / "killed"
    proc = start([*args, "--out", str(killed)])
    t0 = time.monotonic()
    while True:  # kill once scoring has recorded some laws: past the search, mid-way through the scoring
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() - t0 < 600, "the run never reached its scoring phase"
        try:
            ck = json.loads((killed / CHECKPOINT_NAME).read_text())
        except (OSError, ValueError):
            ck = {}
        if ck.get("phase") == "score" and len(ck.get("scored") or {}) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "results.json").exists()
    again = start(["run", "--resume", str(killed), "--quiet"])
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "Traceback" not in err
    assert_identical(whole / "results.json", killed / "results.json")
