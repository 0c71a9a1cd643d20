"""The selection protocol: forward folds (rolling origin), leave-one-out on small tables, the catalog
default, the forecast spread of the laws the rows cannot tell apart, and the real-task suite's tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import discover
from discover.bench.cells import versus_catalog
from discover.bench.suites import load_suite
from discover.bench.tables import prepare_rows, size_number
from discover.errors import DataError
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.splits import BACKTEST, BACKTEST2, LOO, SMALL_TABLE_ROWS, TEST, TRAIN, VAL

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _grid(n_sizes=8, n_tokens=8, seed=0, floor=1.7):
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 3e9, n_sizes), np.geomspace(1e9, 3e11, n_tokens))
    y = (floor + 400 / n**0.34 + 400 / d**0.28) * np.exp(rng.normal(0, 0.005, n.shape))
    return pd.DataFrame({"params": n.ravel(), "tokens": d.ravel(), "loss": y.ravel()})


def test_forward_folds_are_nested_bands_each_fitted_below_itself():
    ds, sp = prepare(_grid(), TableSpec(target="loss", features=["params", "tokens"], split="compute:0.2"))
    assert [f.name for f in sp.folds] == [VAL, BACKTEST, BACKTEST2] and sp.selection == "forward bands"
    key = ds.frame.params.to_numpy() * ds.frame.tokens.to_numpy()
    seen = set(sp.rows(TEST))
    for fold in sp.folds:
        (fit, ev), = fold.pieces
        assert not set(fit) & set(ev) and not (set(fit) | set(ev)) & seen  # never test rows, never its own band
        assert key[fit].max() <= key[ev].min() * (1 + 1e-12)  # every fit lies below the band it predicts
        seen |= set(ev)
    assert set(sp.folds[0].pieces[0][1]) == set(sp.rows(VAL))


def test_a_small_table_is_judged_by_leave_one_out_over_every_row():
    frame = _grid(4, 5)  # 20 rows: under the small-table size once the test rows are out
    ds, sp = prepare(frame, TableSpec(target="loss", features=["params", "tokens"], split="compute:0.2"))
    train = sp.rows(TRAIN)
    assert len(train) < SMALL_TABLE_ROWS and not len(sp.rows(VAL))
    (fold,) = sp.folds
    assert fold.name == LOO and sp.selection == "leave-one-out" and fold.n_eval == len(train)
    for fit, ev in fold.pieces:
        assert len(ev) == 1 and set(fit) == set(train) - set(ev)
    res = discover.fit(frame, target="loss", features=["params", "tokens"], split="compute:0.2", bootstrap=0,
                       laws=["hoffmann2022", "E + A/params**a"])
    assert res.selection["rule"] == "leave-one-out" and res.selection["folds"] == {LOO: len(train)}
    assert res.laws[res.recommended].law.name == "hoffmann2022"  # the law that uses both features


def test_the_catalog_law_is_recommended_unless_a_discovered_one_is_significantly_better():
    frame = _grid(10, 10)
    res = discover.fit(frame, target="loss", features=["params", "tokens"], split="compute:0.2", bootstrap=0,
                       laws=["hoffmann2022", "E + A/params**a + B/tokens**b + C*log(params)"])
    assert res.selection["catalog_default"] == "hoffmann2022"
    assert res.laws[res.recommended].law.name == "hoffmann2022", res.selection
    assert res.selection["bars"] == {"replace_default": 2.0, "parsimony": 1.0}
    assert "catalog" in res.selection["reason"]


def test_the_forecast_spread_says_when_the_rows_do_not_pin_the_extrapolation_down():
    # two laws the rows cannot tell apart that part ways past the data: a floor, or none
    x = np.geomspace(10, 1e3, 40)
    rng = np.random.default_rng(3)
    y = (0.5 + 5 / x**0.5) * np.exp(rng.normal(0, 0.05, 40))  # noisy enough that a law without a floor fits too
    frame = pd.DataFrame({"x": np.concatenate([x, [1e7]]), "y": np.concatenate([y, [0.5]])})
    frame["split"] = ["train"] * 40 + ["test"]
    res = discover.fit(frame, target="y", features=["x"], split="column:split", bootstrap=0,
                       laws=["E + A/x**a", "A/x**a"])
    fc = res.selection["forecast"]
    assert set(fc["laws"]) == {"E + A/x**a", "A/x**a"}, fc
    assert fc["pinned"] is False and fc["range"][0] < 0.1 and fc["range"][1] > 0.4
    tight = discover.fit(frame, target="y", features=["x"], split="column:split", bootstrap=0, laws=["E + A/x**a"])
    assert tight.selection["forecast"]["pinned"] is True


def test_task_files_read_published_tables_as_they_are():
    frame = pd.DataFrame({"model": ["a ", "a ", "b", "b", None], "size": ["1.3b", "7B", "125m", "x", "1k"],
                          "step": [1, 2, 1, 2, 3], "loss": [3.0, 2.5, 4.0, 3.5, 1.0], "flag": [1, 0, 1, 1, 0]})
    out, info = prepare_rows(frame, {"where": {"model": ["a", "b"]}, "numbers": ["size"],
                                     "derive": {"held_out": "1 - flag"}, "last_of": {"group": "model", "order": "step"}},
                             ["loss", "size"], "test")
    # a's last row (step 2, "7B"); b's last row has no size ("x"): dropped and counted; None is no model
    assert out["model"].tolist() == ["a "] and out["size"].tolist() == [7e9] and out["held_out"].tolist() == [1.0]
    assert info["rows_dropped_missing"] == 1
    assert size_number("1.3b") == 1.3e9 and size_number("125m") == 1.25e8 and np.isnan(size_number("Pile"))
    with pytest.raises(DataError, match="unknown key 'rows_where'"):
        prepare_rows(frame, {"rows_where": {}}, ["loss"], "test")


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside the checkout")
def test_the_real_suite_loads_with_documented_halves():
    tasks = load_suite("real")
    assert len(tasks) >= 12
    for t in tasks:
        assert t.meta.get("half") in ("dev", "confirm") and t.meta.get("why"), t.name
        assert t.n_rows >= 20
    halves = [t.meta["half"] for t in tasks]
    assert 0.3 < halves.count("dev") / len(halves) < 0.7
    # a split column whose 1 marks the test rows (the Revisiting benchmark's Training column inverted)
    rev = next(t for t in tasks if t.name == "revisiting_lang")
    assert rev.split == "column:held_out" and set(rev.frame["held_out"].unique()) == {0.0, 1.0}


def test_versus_catalog_compares_the_pick_on_test_rows():
    frame = _grid(10, 10)
    from discover.bench.suites import Task

    task = Task(name="grid", frame=frame, target="loss", features=["params", "tokens"], split="compute:0.2")
    res = discover.fit(frame, target="loss", features=["params", "tokens"], split="compute:0.2", bootstrap=0,
                       laws=["hoffmann2022", "kaplan2020", "E + A/params**a"])
    out = versus_catalog(res, task)
    assert out["catalog_pick"] == res.selection["catalog_default"]
    assert out["oracle_test"] <= min(s.error("test", True) for s in res.laws if s.ok) + 1e-15
    assert out["regret"] >= 1.0
    if res.best.name == out["catalog_pick"]:
        assert out["loses_to_catalog"] is False and out["vs_catalog_ratio"] == 1.0


def test_a_split_column_of_booleans_or_ones_flags_the_test_rows():
    frame = _grid()
    frame["is_test"] = (frame.params * frame.tokens > np.quantile(frame.params * frame.tokens, 0.8))
    for col in (frame["is_test"], frame["is_test"].astype(int), frame["is_test"].map({True: "true", False: "false"})):
        ds, sp = prepare(frame.assign(flag=col), TableSpec(target="loss", features=["params", "tokens"],
                                                           split="column:flag"))
        assert set(sp.rows(TEST)) == set(np.flatnonzero(frame["is_test"].to_numpy()))
    json.dumps(sp.describe())  # the split's description is plain data
