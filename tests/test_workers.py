"""Forms fitted on several processes, or on a Dask cluster, give the laws one process gives:
the search keeps its beam and its form count in one place and only sends the fits out."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from discover.engines.grammar import GrammarEngine
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.search import make_task
from discover.checkpoint import StopFlag, stop_on_signals
from discover.workers import Workers


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(3)
    n = 48
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), n))
    loss = (1.7 + 400 / N ** 0.34 + 410 / D ** 0.28) * np.exp(0.01 * rng.standard_normal(n))
    return pd.DataFrame({"params": N, "tokens": D, "loss": loss})


def _laws(table, max_forms=60, progress=None, **engine):
    ds, sp = prepare(table, TableSpec(target="loss", features=["params", "tokens"], split="compute:0.2"))
    task = make_task(ds, sp, [], 0, None)
    task.time_budget = 1e4  # only the form count ends the search
    task.deadline = time.monotonic() + 1e4
    task.progress = progress
    eng = GrammarEngine(max_forms=max_forms, **engine)
    cands = eng.propose(task)
    return eng, [(c.law.formula, c.engine_score, tuple(np.round(list((c.start or {}).values()), 10))) for c in cands]


def test_two_worker_processes_find_the_laws_one_process_finds(table):
    one, laws_one = _laws(table)
    two, laws_two = _laws(table, workers=2)
    assert one.n_tried == two.n_tried == 60
    assert laws_one and laws_one == laws_two
    assert two.pool_note == ""  # the workers did the fits: no fallback to one process


def _sleep(context, seconds):
    time.sleep(seconds)
    return seconds


def test_closing_the_pool_ends_the_work_nobody_will_take():
    # a run that passed its deadline stops taking results; a law still being fitted in a worker is
    # abandoned, and the end of the run must not wait for it (it waited for the slowest such fit).
    # As in a run, the workers are forked while SIGTERM is routed to the run's stop flag.
    with stop_on_signals(StopFlag()):
        pool = Workers(None, workers=2)
        stream = pool.imap(_sleep, [0.0, 120.0, 120.0])
        assert next(stream) == 0.0
        stream.close()  # a long item is running by now (the other may be too): cancelling does not stop it
        closer = threading.Thread(target=pool.close, daemon=True)
        closer.start()
        closer.join(60)
    assert not closer.is_alive(), "closing the pool waited for the abandoned work"


def test_workers_must_be_a_positive_integer():
    import discover
    for bad in (0, -1, 1.5, True):
        with pytest.raises(discover.DataError, match="workers"):
            GrammarEngine(workers=bad)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as lc, distributed.Client(lc) as client:
        yield lc, client


def test_a_search_on_a_local_cluster_of_two_processes_finds_the_local_laws(table, cluster):
    lc, client = cluster
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()  # processes, not threads
    _, local = _laws(table)
    eng, remote = _laws(table, executor=client)
    assert eng.pool_note == ""
    assert local == remote


def test_a_worker_killed_mid_search_leaves_the_search_to_the_others(table, cluster):
    lc, client = cluster
    _, local = _laws(table, max_forms=80)
    victim = {}

    def kill_one(n_tried, total, **kw):
        if n_tried >= 20 and not victim:
            pid = next(iter(client.run(os.getpid).values()))
            victim["pid"] = pid
            os.kill(pid, signal.SIGKILL)
    eng, remote = _laws(table, max_forms=80, progress=kill_one, executor=client)
    assert victim  # a worker was killed while forms were still being fitted
    assert eng.n_tried == 80
    assert eng.pool_note == ""  # the cluster carried on: the search did not fall back to this process
    assert remote == local


def test_an_unreachable_scheduler_is_a_one_line_error_and_nothing_is_written(table, tmp_path):
    import socket
    import subprocess
    import sys
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    csv = tmp_path / "runs.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "discover", "run", str(csv), "--target", "loss", "--features",
                           "params,tokens", "--time-budget", "5", "--dask-scheduler", f"tcp://127.0.0.1:{port}",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "cannot reach the Dask scheduler" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())
