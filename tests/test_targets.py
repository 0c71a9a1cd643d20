"""Several targets: one law per target, or one form with constants per target."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import discover
from discover import targets as tg
from discover.cli import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Two losses of the same runs: same form, different constants; one value missing in loss_b."""
    rng = np.random.default_rng(1)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 80))
    d = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 80))
    noise = np.exp(rng.normal(0, 0.002, (2, 80)))
    frame = pd.DataFrame({
        "params": n, "tokens": d,
        "loss_a": (1.7 + 400 / n**0.34 + 2000 / d**0.28) * noise[0],
        "loss_b": (2.3 + 900 / n**0.30 + 1000 / d**0.25) * noise[1],
    })
    frame.loc[3, "loss_b"] = np.nan
    path = tmp_path_factory.mktemp("targets") / "two.csv"
    frame.to_csv(path, index=False)
    return path


LAW = "E + A/params**a + B/tokens**b"


def test_one_law_per_target_recovers_each_targets_constants(table):
    res = tg.run_each(discover.fit, str(table), "loss_a,loss_b", features=["params", "tokens"], laws=[LAW],
                      split="compute:0.2", bootstrap=0)
    assert list(res) == ["loss_a", "loss_b"]
    ca, cb = (res[t].laws[0].law.constants for t in res)
    assert ca["E"] == pytest.approx(1.7, rel=0.03) and ca["a"] == pytest.approx(0.34, rel=0.05)
    assert cb["E"] == pytest.approx(2.3, rel=0.03) and cb["b"] == pytest.approx(0.25, rel=0.05)
    assert res["loss_b"].dataset["rows"] == 79 and any("1 rows without" in w for w in res["loss_b"].warnings)
    assert res["loss_a"].target == "loss_a" and not any("rows without" in w for w in res["loss_a"].warnings)


def test_shared_form_fits_constants_per_target(table):
    res = tg.run_shared(discover.fit, str(table), ["loss_a", "loss_b"], features="params,tokens", laws=[LAW],
                        split="compute:0.2", bootstrap=0)
    law = res.laws[0].law
    assert law.grouped and set(law.constants) == {"loss_a", "loss_b"}
    assert law.constants["loss_a"]["E"] == pytest.approx(1.7, rel=0.03)
    assert law.constants["loss_b"]["E"] == pytest.approx(2.3, rel=0.03)
    assert res.dataset["rows"] == 159 and res.options["targets"] == ["loss_a", "loss_b"]


def test_melt_combines_existing_groups_with_targets():
    frame = pd.DataFrame({"x": [1.0, 2.0], "g": ["p", "q"], "target": [5, 6], "y1": [1.0, 2.0], "y2": [3.0, np.nan]})
    long, vcol, gcol = tg.melt(frame, ["y1", "y2"], group="g")
    # a column already called 'target' is kept; the new ones get free names
    assert vcol == "value" and gcol == "g|target_" and len(long) == 3
    assert sorted(long[gcol]) == ["p|y1", "p|y2", "q|y1"]


@pytest.mark.parametrize("targets, message", [
    ("loss_a", "at least two"),
    ("loss_a,loss_a", "named twice"),
    ("loss_a,nope", "'nope' is not in the table"),
    ("loss_a,params", "both a target and a feature"),
])
def test_bad_target_lists(table, targets, message):
    with pytest.raises(discover.DataError, match=message):
        tg.run_each(discover.fit, str(table), targets, features=["params", "tokens"], laws=[LAW], bootstrap=0)


def test_cli_targets_write_one_directory_each_and_a_summary(table, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["fit", str(table), "--targets", "loss_a,loss_b", "--features", "params,tokens", "--law", LAW,
                 "--split", "compute:0.2", "--bootstrap", "0", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    summary = pd.read_csv(out / "targets.csv")
    assert list(summary["target"]) == ["loss_a", "loss_b"] and (summary["test_r2"] > 0.9).all()
    for t in ("loss_a", "loss_b"):
        data = json.loads((out / t / "results.json").read_text())
        assert data["target"] == t


def test_cli_shared_form_run(table, tmp_path, capsys):
    out = tmp_path / "shared"
    code = main(["run", str(table), "--targets", "loss_a,loss_b", "--shared-form", "--features", "params,tokens",
                 "--split", "compute:0.2", "--time-budget", "4", "--bootstrap", "0", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "results.json").read_text())
    assert data["group"] == "target" and data["dataset"]["n_groups"] == 2
    assert any(law["provenance"].startswith("engine: grammar") for law in data["laws"])


@pytest.mark.parametrize("args, message", [
    (["--target", "loss_a", "--targets", "loss_a,loss_b"], "not both"),
    (["--shared-form", "--target", "loss_a"], "--shared-form needs --targets"),
    ([], "--target (or --targets) is required"),
])
def test_cli_target_argument_errors(table, tmp_path, capsys, args, message):
    code = main(["fit", str(table), "--features", "params,tokens", "--out", str(tmp_path / "o"), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
