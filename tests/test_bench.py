"""The benchmark harness: suites, cells, resume, summaries, local processes and Dask.

Every search here runs with a 1-second budget on 40-row tables, so the file
stays well under a minute on two cores.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from discover import DataError
from discover.bench import load_suite, plan, run_bench
from discover.bench.cells import DONE, RESULTS, cell_dir, recovered, truth_standing
from discover.bench.suites import task_from_file
from discover.cli import main
from discover.law import Law

BUDGET = 1.0


def chinchilla_table(seed: int, scale: float = 1.0) -> pd.DataFrame:
    """A 40-row Chinchilla-form table; the 8 largest-compute runs are the test split."""
    rng = np.random.default_rng(seed)
    N, D = np.meshgrid(np.logspace(7, 9.5, 8), np.logspace(9, 11, 5))
    N, D = N.ravel(), D.ravel()
    loss = scale * (1.69 + 406.4 / N**0.34 + 410.7 / D**0.28) * np.exp(rng.normal(0, 0.005, N.size))
    C = N * D
    split = np.where(C >= np.sort(C)[-8], "test", "train")
    return pd.DataFrame({"params": N, "tokens": D, "loss": loss, "split": split})


def write_task(directory, name, frame, **extra):
    frame.to_csv(directory / f"{name}.csv", index=False)
    doc = {"table": f"{name}.csv", "target": "loss", "features": ["params", "tokens"], "group": None,
           "split": "column:split", **extra}
    (directory / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    return directory / f"{name}.json"


@pytest.fixture
def suite_dir(tmp_path):
    d = tmp_path / "suite"
    d.mkdir()
    write_task(d, "alpha", chinchilla_table(0))
    write_task(d, "beta", chinchilla_table(1, scale=1.1))
    (d / "notes.json").write_text('{"not": "a task"}', encoding="utf-8")  # ignored: not a task file
    return d


def test_directory_suite_runs_in_worker_processes_and_resumes(suite_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["bench", str(suite_dir), "--engines", "grammar", "--seeds", "0", "--time-budget", str(BUDGET),
            "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "alpha" in printed.out and "beta" in printed.out and "catalog R²" in printed.out
    assert "recovery" not in printed.out and "found by engine" not in printed.out  # no known law in these tasks

    done = sorted(out.glob("cells/*/" + DONE))
    assert len(done) == 2
    for path in done:
        row = json.loads(path.read_text())
        assert row["status"] == "ok", row
        assert row["rss_scope"] == "cell" and row["peak_rss_mb"] > 0
        assert -1e9 < row["test_r2"] <= 1 and row["catalog_r2"] is not None
        assert (path.parent / RESULTS).exists()
        assert json.loads((path.parent / RESULTS).read_text())["schema_version"]

    cells = pd.read_csv(out / "summary_cells.csv")
    for col in ("task", "engine", "seed", "budget", "test_r2", "test_rmse_log", "recovered", "complexity", "wall_s",
                "peak_rss_mb", "catalog_r2", "beat_catalog", "status", "error"):
        assert col in cells.columns
    assert sorted(cells["task"]) == ["alpha", "beta"]
    engines = pd.read_csv(out / "summary_engines.csv")
    for col in ("engine", "mean_test_r2", "median_test_r2", "recovery_rate", "found_rate", "beat_catalog_tasks"):
        assert col in engines.columns
    assert engines["tasks"].tolist() == [2]
    assert "| engine |" in (out / "summary.md").read_text()
    assert (out / "summary_tasks.csv").exists()

    # A rerun skips both finished cells: nothing is rewritten.
    mtimes = {p: p.stat().st_mtime_ns for p in done}
    res = run_bench(suite_dir, out=out, engines=["grammar"], seeds=[0], time_budget=BUDGET, workers=1)
    assert (res.ran, res.skipped) == (0, 2)
    assert {p: p.stat().st_mtime_ns for p in done} == mtimes

    # The same task given as a single task JSON is the same cell (keyed by content), so it is skipped too.
    res = run_bench(suite_dir / "alpha.json", out=out, engines=["grammar"], seeds=[0], time_budget=BUDGET, workers=1)
    assert (res.ran, res.skipped, len(res.rows)) == (0, 1, 1)
    assert res.rows[0]["task"] == "alpha"


def test_cell_key_follows_content_engine_seed_and_budget(suite_dir, tmp_path):
    tasks = load_suite(suite_dir)
    assert [t.name for t in tasks] == ["alpha", "beta"]
    keys = {c.key for c in plan(tasks, ["grammar", "operon"], [0, 1], 5.0)}
    assert len(keys) == 8
    same = plan(load_suite(suite_dir), ["grammar"], [0], 5.0)[0].key
    assert same == plan(tasks, ["grammar"], [0], 5.0)[0].key
    assert same != plan(tasks, ["grammar"], [0], 6.0)[0].key
    frame = chinchilla_table(0)
    frame.loc[0, "loss"] *= 1.01
    write_task(suite_dir, "alpha", frame)  # edited table: new key, the old cell is not reused
    assert plan(load_suite(suite_dir), ["grammar"], [0], 5.0)[0].key != same


def test_failed_cell_records_error_and_is_retried_only_when_asked(tmp_path):
    d = tmp_path / "suite"
    d.mkdir()
    bad = chinchilla_table(0)
    bad["split"] = "nonsense"  # the pipeline rejects these split labels when the cell runs
    path = write_task(d, "broken", bad)
    out = tmp_path / "out"
    res = run_bench(path, out=out, time_budget=BUDGET, workers=0)
    row = res.rows[0]
    assert row["status"] == "error" and "split" in row["error"]
    cdir = out / "cells" / row["key"]
    assert (cdir / DONE).exists() and (cdir / "error.txt").exists() and not (cdir / RESULTS).exists()
    assert run_bench(path, out=out, time_budget=BUDGET, workers=0).ran == 0
    assert run_bench(path, out=out, time_budget=BUDGET, workers=0, retry_failed=True).ran == 1
    assert "broken" in (out / "summary.md").read_text()


def test_dask_cluster_runs_a_cell(suite_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", scheduler_port=0, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        res = run_bench(suite_dir / "beta.json", out=out, engines=["grammar"], seeds=[3], time_budget=BUDGET,
                        dask_scheduler=cluster.scheduler_address)
    assert res.ran == 1 and res.rows[0]["status"] == "ok", res.rows
    cell = plan(load_suite(suite_dir / "beta.json"), ["grammar"], [3], BUDGET)[0]
    assert (cell_dir(out, cell) / RESULTS).exists() and (cell_dir(out, cell) / DONE).exists()
    assert math.isfinite(res.rows[0]["test_r2"])


def test_synthetic_suite_has_tasks_with_truth():
    tasks = load_suite("synthetic", noise=[0.01, 0.03])
    names = {t.meta["base"] for t in tasks}
    assert len(names) >= 12 and len(tasks) == 2 * len(names)
    assert all(t.truth is not None and t.truth.constants for t in tasks)
    assert all(t.split == "column:split" and set(t.frame["split"]) == {"train", "test"} for t in tasks)
    # deterministic: same seed, same content; another data seed, other tables
    again = load_suite("synthetic", noise=[0.01], only=["chinchilla"])
    assert again[0].content_hash() == tasks[0].content_hash()
    assert load_suite("synthetic", data_seed=1, only=["chinchilla"])[0].content_hash() != tasks[0].content_hash()


def test_cells_of_the_synthetic_suite_can_be_sent_to_workers():
    import pickle

    task = load_suite("synthetic", only=["chinchilla"])[0]
    task.truth.predict(task.frame)  # caches the law's compiled function, which pickle cannot carry
    cell = pickle.loads(pickle.dumps(plan([task], ["grammar"], [0], 1.0)[0]))
    assert cell.key == plan([task], ["grammar"], [0], 1.0)[0].key
    np.testing.assert_allclose(cell.task.truth.predict(cell.task.frame), task.truth.predict(task.frame))


def test_recovery_check_uses_the_task_columns():
    task = load_suite("synthetic", only=["hestness"])[0]
    form = Law.from_formula(task.truth.formula, task.features, name="candidate")
    assert recovered(task, form) is True
    assert recovered(task, Law.from_formula("A*params**(-alpha)", task.features)) is False


def test_truth_standing_tells_a_search_miss_from_a_selection_miss():
    from discover.pipeline import fit

    task = load_suite("synthetic", only=["hestness"])[0]
    cols = dict(target=task.target, features=task.features, split=task.split, bootstrap=0)
    truth = Law.from_formula(task.truth.formula, task.features, name="found", provenance="engine:grammar")
    pure = Law.from_formula("A*params**(-alpha)", task.features, name="pure", provenance="engine:grammar")
    bent = Law.from_formula("A*params**(-alpha)*exp(c*log(params)**2)", task.features, name="bent",
                            provenance="engine:grammar")

    res = fit(task.frame, laws=[pure, truth, bent], **cols)
    st = truth_standing(res, task)
    assert st["truth_found"] is True and st["truth_found_engine"] is True
    place = [s.law.name for s in res.laws].index("found")
    assert st["truth_val_rank"] == place + 1
    assert (st["truth_val_z"] == 0.0) == (place == 0) and st["truth_val_z"] >= 0.0

    # supplied by the catalog only: found, but not by an engine
    from_catalog = Law.from_formula(task.truth.formula, task.features, name="cat", provenance="catalog:hestness2017")
    st = truth_standing(fit(task.frame, laws=[pure, from_catalog], **cols), task)
    assert st["truth_found"] is True and st["truth_found_engine"] is False

    # not among the candidates: a search miss, with no place on validation
    st = truth_standing(fit(task.frame, laws=[pure, bent], **cols), task)
    assert st == {"truth_found": False, "truth_found_engine": False, "truth_val_rank": None, "truth_val_z": None}


def test_summary_counts_where_the_true_form_was_found():
    from discover.bench.summary import markdown, summarize, terminal

    def row(task, recovered, found, by_engine):
        return {"task": task, "engine": "grammar", "seed": 0, "status": "ok", "test_r2": 0.9, "catalog_r2": 0.8,
                "recovered": recovered, "truth_found": found, "truth_found_engine": by_engine,
                "truth_val_rank": 1 if recovered else (7 if found else None),
                "truth_val_z": 0.0 if recovered else (3.25 if found else None), "wall_s": 1.0, "peak_rss_mb": 1.0}

    rows = [row("a", True, True, True), row("b", False, True, False), row("c", False, False, False),
            row("d", False, True, True)]
    cells, tasks, engines = summarize(rows)
    e = engines.iloc[0]
    assert (e["recovered_cells"], e["truth_cells"]) == (1, 4)
    assert e["found_rate"] == 0.75 and e["engine_found_rate"] == 0.5
    assert tasks.set_index("task")["found"].to_dict() == {"a": 1.0, "b": 1.0, "c": 0.0, "d": 1.0}
    text = markdown(cells, tasks, engines)
    assert "found by engine" in text and "| 3.25 |" in text and "| 7 |" in text
    assert "75%" in terminal(rows) and "50%" in terminal(rows)


def test_task_json_with_truth_is_read(tmp_path):
    from discover.bench import synthetic

    [path, *_] = synthetic.to_directory(tmp_path, seed=0, noise=0.01)
    task = task_from_file(path)
    assert task.truth is not None and task.truth.constants
    direct = load_suite("synthetic", only=[task.name])[0]
    np.testing.assert_allclose(task.truth.predict(task.frame), direct.truth.predict(direct.frame), rtol=1e-9)


def test_task_file_with_several_targets_gives_one_task_per_target(tmp_path):
    frame = chinchilla_table(0).assign(loss_b=lambda f: f["loss"] * 1.2)
    frame.loc[2, "loss_b"] = np.nan
    write_task(tmp_path, "two", frame, target=["loss", "loss_b"])
    tasks = load_suite(tmp_path)
    assert [t.name for t in tasks] == ["two:loss", "two:loss_b"]
    a, b = tasks
    assert (a.target, b.target) == ("loss", "loss_b")
    assert "loss_b" not in a.frame.columns and "loss" not in b.frame.columns
    assert (a.n_rows, b.n_rows) == (len(frame), len(frame) - 1)
    assert [t.name for t in load_suite(tmp_path, only=["two"])] == ["two:loss", "two:loss_b"]
    with pytest.raises(DataError, match="tasks_from_file"):
        task_from_file(tmp_path / "two.json")
    write_task(tmp_path, "bad", frame, target=["loss", "loss_c"])
    with pytest.raises(DataError, match="'loss_c'"):
        load_suite(tmp_path / "bad.json")


@pytest.mark.parametrize("suite", ["no/such/dir", "README.md"])
def test_bad_suite_is_a_data_error_and_exit_2(suite, tmp_path, capsys):
    (tmp_path / "README.md").write_text("hello")
    path = suite if suite.startswith("no/") else str(tmp_path / suite)
    with pytest.raises(DataError):
        load_suite(path)
    assert main(["bench", path, "--out", str(tmp_path / "o"), "--time-budget", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_bad_task_file_and_options_exit_2(tmp_path, capsys):
    (tmp_path / "t.json").write_text(json.dumps({"table": "missing.csv", "target": "loss", "features": ["params"]}))
    assert main(["bench", str(tmp_path / "t.json"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    assert main(["bench", "synthetic", "--engines", "nosuch", "--out", str(tmp_path / "o")]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert main(["bench", "synthetic", "--seeds", "a,b", "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "synthetic", "--tasks", "nosuch", "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "synthetic", "--workers", "1", "--dask-scheduler", "tcp://127.0.0.1:1",
                 "--out", str(tmp_path / "o")]) == 2


def test_interrupted_run_keeps_finished_cells(tmp_path):
    d = tmp_path / "suite"
    d.mkdir()
    for name in ("one", "two"):
        bad = chinchilla_table(0)
        bad["split"] = "nonsense"  # fails at once: a finished (error) cell without any search
        write_task(d, name, bad)
    out = tmp_path / "out"

    def interrupt_after_first_cell(msg):
        if msg.startswith("[1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(d, out=out, time_budget=BUDGET, workers=0, log=interrupt_after_first_cell)
    assert len(list(out.glob("cells/*/" + DONE))) == 1
    assert len(pd.read_csv(out / "summary_cells.csv")) == 1  # the partial summary is written

    seen = []

    def stop_before_running(msg):
        seen.append(msg)
        if msg.startswith("running"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bench(d, out=out, time_budget=BUDGET, workers=0, retry_failed=False, log=stop_before_running)
    assert seen[0].startswith("1 of 2 cells already finished") and seen[1].startswith("running 1 cells")


def test_task_file_with_a_curve_runs_its_table_as_curves(tmp_path):
    # two runs of three sizes each, a cosine-like decay; the cell must derive the schedule features
    rows = []
    for n in (1e7, 3e7, 1e8):
        for last in (400, 800):
            for step in range(100, last + 1, 100):
                lr = 1e-3 * (0.1 + 0.9 * (1 - step / last))
                rows.append({"run": f"{n:g}-{last}", "params": n, "step": step, "lr": lr, "tokens": step * 1e5,
                             "loss": 2 + 300 / n ** 0.3 + 0.5 * (step * 1e-3) ** -0.3})
    pd.DataFrame(rows).to_csv(tmp_path / "curves.csv", index=False)
    doc = {"table": "curves.csv", "target": "loss", "features": ["params", "tokens"],
           "split": "largest:params:0.3", "curve": {"run": "run", "step": "step", "lr": "lr"}}
    (tmp_path / "curves.json").write_text(json.dumps(doc))
    task = task_from_file(tmp_path / "curves.json")
    assert task.curve == {"run": "run", "step": "step", "lr": "lr"}
    result = run_bench(tmp_path / "curves.json", out=tmp_path / "out", time_budget=3, workers=0)
    (row,) = result.rows
    assert row["status"] == "ok", row.get("error")
    doc_out = json.loads((cell_dir(tmp_path / "out", plan([task], ["grammar"], [0], 3)[0]) / RESULTS).read_text())
    assert doc_out["dataset"]["curve"]["run"] == "run" and "lr_area" in doc_out["features"]
    for bad in ({"run": "run"}, {"run": "nope", "step": "step"}, {"run": "run", "step": "step", "lrate": "lr"}):
        (tmp_path / "bad.json").write_text(json.dumps({**doc, "curve": bad}))
        with pytest.raises(DataError, match="curve"):
            task_from_file(tmp_path / "bad.json")
