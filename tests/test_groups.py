"""Groups named by several columns (``group="family,task"``): one curve per combination.

Learning-curve collections identify a curve by several columns (domain, task,
model); asking users to paste them into one column first is a chore the tool
can do. The combined label joins the values with " | ".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import discover
from discover import targets as tg
from discover.cli import main
from discover.errors import DataError

LAW = "E + A/steps**a"
TRUE = {("nmt", "small"): (1.0, 30.0, 0.3), ("nmt", "large"): (0.8, 40.0, 0.35),
        ("lm", "small"): (2.0, 20.0, 0.25), ("lm", "large"): (1.7, 25.0, 0.3)}


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    steps = np.geomspace(1e3, 1e6, 24)
    rows = []
    for (family, size), (e, a, p) in TRUE.items():
        for s in steps:
            rows.append((family, size, s, (e + a / s**p) * np.exp(rng.normal(0, 0.002))))
    return pd.DataFrame(rows, columns=["family", "size", "steps", "loss"])


@pytest.mark.parametrize("group", ["family,size", ["family", "size"], " family , size "])
def test_several_group_columns_give_one_curve_per_combination(frame, group):
    res = discover.fit(frame, target="loss", features=["steps"], group=group, laws=[LAW], split="none", bootstrap=0)
    law = res.laws[0].law
    assert res.group == "family,size"
    assert sorted(law.constants) == sorted(f"{f} | {s}" for f, s in TRUE)
    for (family, size), (e, a, p) in TRUE.items():
        c = law.constants[f"{family} | {size}"]
        assert c["a"] == pytest.approx(p, rel=0.05) and c["E"] == pytest.approx(e, rel=0.05)


def test_same_constants_as_a_combined_column(frame):
    combined = frame.assign(curve=frame["family"] + " | " + frame["size"])
    a = discover.fit(frame, target="loss", features=["steps"], group="family,size", laws=[LAW], split="none",
                     bootstrap=0).laws[0].law.constants
    b = discover.fit(combined, target="loss", features=["steps"], group="curve", laws=[LAW], split="none",
                     bootstrap=0).laws[0].law.constants
    assert a.keys() == b.keys()
    for g in a:
        assert a[g] == pytest.approx(b[g], rel=1e-9)


def test_predict_on_a_table_that_only_has_the_parts(frame):
    res = discover.fit(frame, target="loss", features=["steps"], group="family,size", laws=[LAW], split="none",
                       bootstrap=0)
    new = pd.DataFrame({"family": ["lm", "nmt"], "size": ["large", "small"], "steps": [1e7, 1e7]})
    pred = res.predict(new)
    want = [1.7 + 25.0 / 1e7**0.3, 1.0 + 30.0 / 1e7**0.3]
    assert pred == pytest.approx(want, rel=0.02)
    with pytest.raises(DataError, match="size"):
        res.predict(new.drop(columns=["size"]))


def test_a_missing_part_is_named(frame):
    with pytest.raises(DataError, match="'sise'"):
        discover.fit(frame, target="loss", features=["steps"], group="family,sise", laws=[LAW], split="none")


def test_a_part_that_is_a_feature_or_the_target_is_refused(frame):
    with pytest.raises(DataError, match="steps"):
        discover.fit(frame, target="loss", features=["steps"], group="family,steps", laws=[LAW], split="none")
    with pytest.raises(DataError, match="loss"):
        discover.fit(frame, target="loss", features=["steps"], group="loss,family", laws=[LAW], split="none")


def test_shared_form_over_targets_with_several_group_columns(frame):
    two = frame.assign(loss2=frame["loss"] * 1.1)
    res = tg.run_shared(discover.fit, two, "loss,loss2", features=["steps"], group="family,size", laws=[LAW],
                        split="none", bootstrap=0)
    labels = sorted(res.laws[0].law.constants)
    assert len(labels) == 8 and "lm | large|loss2" in labels


def test_cli_takes_a_comma_list_for_group(frame, tmp_path, capsys):
    path = tmp_path / "curves.csv"
    frame.to_csv(path, index=False)
    code = main(["fit", str(path), "--target", "loss", "--features", "steps", "--group", "family,size",
                 "--law", LAW, "--split", "none", "--bootstrap", "0", "--out", str(tmp_path / "out")])
    assert code == 0
    assert (tmp_path / "out" / "results.json").exists()


def test_estimator_with_several_group_columns(frame):
    from discover.estimator import LawRegressor

    X, y = frame[["family", "size", "steps"]], frame["loss"]
    model = LawRegressor(LAW, group="family,size").fit(X, y)
    assert np.max(np.abs(np.log(model.predict(X) / y))) < 0.02


@pytest.mark.parametrize("group", [["family", "size"], "family,size"])
def test_task_file_names_a_group_by_several_columns(frame, tmp_path, group):
    import json

    from discover.bench.suites import task_from_file

    frame.to_csv(tmp_path / "curves.csv", index=False)
    (tmp_path / "curves.json").write_text(json.dumps(
        {"table": "curves.csv", "target": "loss", "features": ["steps"], "group": group, "split": "none"}))
    task = task_from_file(tmp_path / "curves.json")
    assert task.group == "family,size"
    (tmp_path / "bad.json").write_text(json.dumps(
        {"table": "curves.csv", "target": "loss", "features": ["steps"], "group": ["family", "sise"]}))
    with pytest.raises(DataError, match="'sise'"):
        task_from_file(tmp_path / "bad.json")


def test_an_unseen_group_is_named_plainly(frame):
    res = discover.fit(frame, target="loss", features=["steps"], group="family,size", laws=[LAW], split="none",
                       bootstrap=0)
    new = pd.DataFrame({"family": ["lm"], "size": ["huge"], "steps": [1e7]})
    with pytest.raises(DataError, match=r"group 'lm \| huge' was not seen"):
        res.predict(new)
