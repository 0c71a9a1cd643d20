"""Hostile-but-realistic input, round two: each case is an example of a kind of input that used
to give a silent wrong answer or an internal error, driven through the CLI as a user would.

Every case either works (and the results read back through ``predict`` and ``report``) or stops
with exit 2 and one line that names the problem; none may exit 0 with an unusable answer.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from discover.cli import main

FIT = ["--bootstrap", "0"]


def _table(n_side: int = 6, seed: int = 0, **extra) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(1e7, 1e9, n_side), n_side)
    d = np.tile(np.geomspace(1e9, 1e11, n_side), n_side)
    loss = (1.7 + 400 / n**0.34 + 410 / d**0.28) * np.exp(rng.normal(0, 0.01, len(n)))
    df = pd.DataFrame({"params": n, "tokens": d, "loss": loss})
    for k, v in extra.items():
        df[k] = v
    return df


def _cli(argv, capsys) -> tuple[int, str, str]:
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_error(rc: int, err: str, *needles: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_all_zero_weights_are_an_error_not_nine_unconverged_fits(tmp_path, capsys):
    p = tmp_path / "t.csv"
    _table(w=0.0).to_csv(p, index=False)
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--weight", "w",
                       "--out", tmp_path / "o", *FIT], capsys)
    _one_line_error(rc, err, "'w'", "zero")
    assert not (tmp_path / "o" / "results.json").exists()


def test_a_feature_named_like_a_catalog_constant_is_used_not_dropped(tmp_path, capsys):
    """A column ``E`` (the catalog's irreducible loss) is a variable of the laws that take a
    second size, not silently left out."""
    p = tmp_path / "t.csv"
    _table().rename(columns={"tokens": "E"}).to_csv(p, index=False)
    out = tmp_path / "o"
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", "params,E", "--law", "L0 + A/params**a + B/E**b",
                       "--out", out, *FIT], capsys)
    assert rc == 0, err
    law = json.loads((out / "results.json").read_text())["laws"][0]
    assert law["status"] == "ok" and set(law["variables"]) == {"params", "E"}
    assert 0.2 < law["constants"]["b"] < 0.4 and 1.5 < law["constants"]["L0"] < 1.9


@pytest.mark.parametrize("name", ["exp", "sqrt", "lambda", "if", "log", "pi"])
def test_a_feature_named_like_the_formula_language_works_everywhere(name, tmp_path, capsys):
    """Function names, keywords, constants of the language and the catalog's constant names as
    columns: fit, then predict and report read the same results back."""
    p = tmp_path / "t.csv"
    _table().rename(columns={"tokens": name}).to_csv(p, index=False)
    out = tmp_path / "o"
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", f"params,{name}", "--law",
                       "hoffmann2022", "--out", out, *FIT], capsys)
    assert rc == 0, err
    doc = json.loads((out / "results.json").read_text())
    law = doc["laws"][0]
    # a name the language owns is written with a trailing underscore in formulas (README)
    assert law["status"] == "ok" and law["variables"][0] == "params" and law["variables"][1] in (name, name + "_")
    # the fitted exponents are those of the table, not a collapse caused by a shadowed name
    assert 0.2 < law["constants"]["beta"] < 0.4 and 1.5 < law["constants"]["E"] < 1.9
    rc, text, err = _cli(["predict", out / "results.json", "--at", f"params=1e10,{name}=1e12"], capsys)
    assert rc == 0, err
    value = float(re.search(r": ([0-9.]+)", text).group(1))
    truth = 1.7 + 400 / 1e10**0.34 + 410 / 1e12**0.28  # the law the table was drawn from
    assert abs(value / truth - 1) < 0.05, (value, truth)
    rc, _, err = _cli(["report", out], capsys)
    assert rc == 0, err


def test_a_target_near_1e_300_is_refused_with_the_fix(tmp_path, capsys):
    df = _table()
    df["loss"] *= 1e-300
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--out", tmp_path / "o", *FIT],
                      capsys)
    _one_line_error(rc, err, "'loss'", "rescale")


def test_collinear_features_are_said_and_optimal_refuses_to_split_compute(tmp_path, capsys):
    df = _table()
    df["tokens"] = 20 * df["params"]
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    out = tmp_path / "o"
    rc, text, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--law", "hoffmann2022",
                          "--out", out, *FIT], capsys)
    assert rc == 0 and "collinear" in text + err
    doc = json.loads((out / "results.json").read_text())
    assert any("collinear" in w for w in doc["warnings"])
    rc, _, err = _cli(["optimal", out / "results.json", "--flops", "1e22"], capsys)
    _one_line_error(rc, err, "collinear")


def test_a_group_column_with_missing_cells_is_an_error(tmp_path, capsys):
    df = _table()
    df["g"] = (["a", "b", None] * len(df))[: len(df)]
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--group", "g",
                       "--out", tmp_path / "o", *FIT], capsys)
    _one_line_error(rc, err, "'g'", "missing")


def test_a_column_used_as_compute_is_named_in_the_terminal(tmp_path, capsys):
    df = _table(C=np.linspace(1, 2, 36))
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    rc, text, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens,C", "--law", "hoffmann2022",
                          "--split", "compute:0.2", "--out", tmp_path / "o", *FIT], capsys)
    assert rc == 0
    assert "ranks the runs by column 'C' as their training compute" in text + err


def test_a_misspelt_law_variable_is_said_and_the_target_in_a_law_is_refused(tmp_path, capsys):
    p = tmp_path / "t.csv"
    _table().to_csv(p, index=False)
    rc, text, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--law",
                          "E + A/param**a + B/tokens**b", "--out", tmp_path / "o", *FIT], capsys)
    assert rc == 0 and "did you mean 'params'" in text + err
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--law",
                       "E + loss/params**a", "--out", tmp_path / "o2", *FIT], capsys)
    _one_line_error(rc, err, "'loss'", "target")


def test_a_run_in_which_no_law_can_be_judged_exits_non_zero(tmp_path, capsys):
    p = tmp_path / "t.csv"
    _table().to_csv(p, index=False)
    rc, _, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--law", "log(-params) + A",
                       "--out", tmp_path / "o", *FIT], capsys)
    _one_line_error(rc, err, "no law")


def test_zeros_in_a_positive_target_say_the_metric_space_changes(tmp_path, capsys):
    df = _table()
    df.loc[3, "loss"] = 0.0
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    rc, text, err = _cli(["fit", p, "--target", "loss", "--features", "params,tokens", "--law", "hoffmann2022",
                          "--out", tmp_path / "o", *FIT], capsys)
    assert rc == 0 and "zero value" in text + err and "not on its log" in text + err


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("fitted")
    p = d / "t.csv"
    _table().to_csv(p, index=False)
    assert main(["fit", str(p), "--target", "loss", "--features", "params,tokens", "--law", "hoffmann2022",
                 "--out", str(d / "o"), *FIT]) == 0
    return d / "o" / "results.json"


@pytest.mark.parametrize("case, edit, needle", [
    ("constants-mistyped", lambda d: d["laws"][0].__setitem__("constants", "abc"), "constants"),
    ("constant-inf", lambda d: _set_constant(d, "inf"), "must be a number"),
    ("constant-5000-digits", lambda d: _set_constant(d, "9" * 5000), "must be a number"),
    ("recommended-not-an-index", lambda d: d.__setitem__("recommended", True), "recommended"),
    ("laws-missing", lambda d: d.pop("laws"), "laws"),
])
def test_tampered_results_are_refused_field_by_field(fitted, case, edit, needle, tmp_path, capsys):
    doc = json.loads(fitted.read_text())
    edit(doc)
    q = tmp_path / "results.json"
    q.write_text(json.dumps(doc))
    rc, _, err = _cli(["predict", q, "--at", "params=1e10,tokens=1e12"], capsys)
    _one_line_error(rc, err, needle)


def _set_constant(doc, value):
    constants = doc["laws"][0]["constants"]
    key = next(iter(constants))
    if isinstance(constants[key], dict):
        constants[key]["value"] = value
    else:
        constants[key] = value


def test_predict_rejects_inputs_outside_the_domain_and_unknown_names(fitted, capsys):
    rc, _, err = _cli(["predict", fitted, "--at", "params=-1e9,tokens=1e12"], capsys)
    _one_line_error(rc, err, "params > 0")
    rc, _, err = _cli(["predict", fitted, "--at", "params=1e9,tokenz=1e12"], capsys)
    _one_line_error(rc, err, "'tokenz'")
