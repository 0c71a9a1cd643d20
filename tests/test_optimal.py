"""Compute-optimal allocation (discover.optimal and `discover optimal`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import discover
from discover.cli import main
from discover.errors import DataError
from discover.optimal import chinchilla_terms, compute_optimal, law_roles

FIG4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinchilla" / "hoffmann2022_fig4.csv"
GRID = Path(__file__).resolve().parent.parent / "datasets" / "chinchilla_grid.csv"
C_CHINCHILLA = 5.76e23


def _table() -> Path:
    return FIG4 if FIG4.is_file() else GRID


def _closed_form(c: dict, C: float, k: float = 6.0) -> tuple[float, float]:
    a, b, A, B = c["alpha"], c["beta"], c["A"], c["B"]
    G = (a * A / (b * B)) ** (1 / (a + b))
    n = G * (C / k) ** (b / (a + b))
    return n, C / (k * n)


@pytest.fixture(scope="module")
def published():
    return discover.fit(_table(), target="loss", features=["params", "tokens"], laws=["besiroglu2024"],
                        published=True, bootstrap=0)


@pytest.fixture(scope="module")
def kaplan_published():
    return discover.fit(_table(), target="loss", features=["params", "tokens"], laws=["kaplan2020"],
                        published=True, bootstrap=0)


@pytest.fixture(scope="module")
def refit(tmp_path_factory):
    res = discover.fit(GRID, target="loss", features=["params", "tokens"], split="compute:0.2",
                       laws=["hoffmann2022", "kaplan2020"], bootstrap=15)
    path = tmp_path_factory.mktemp("opt") / "results.json"
    res.to_json(path)
    return res, path


@pytest.mark.skipif(not FIG4.is_file(), reason="shared table hoffmann2022_fig4.csv not present")
@pytest.mark.parametrize("method", ["auto", "numerical"])
def test_besiroglu_matches_closed_form(published, method):
    law = published.get("besiroglu2024").law
    n_ref, d_ref = _closed_form(law.constants, C_CHINCHILLA)
    opt = compute_optimal(published, C_CHINCHILLA, method=method)
    assert opt.method == ("analytic" if method == "auto" else "numerical")
    assert abs(opt.n / n_ref - 1) < 0.05
    assert abs(opt.d / d_ref - 1) < 0.05
    # in fact both paths agree with the closed form far more tightly than 5 %
    assert abs(opt.n / n_ref - 1) < 1e-4
    c = law.constants
    # the exponents fitted over budgets, against Hoffmann et al.'s closed form a = beta / (alpha + beta)
    assert opt.exponents["params"] == pytest.approx(c["beta"] / (c["alpha"] + c["beta"]), rel=1e-4)
    assert opt.exponents["tokens"] == pytest.approx(c["alpha"] / (c["alpha"] + c["beta"]), rel=1e-4)
    # and the loss reported at the optimum is the law's own loss there, checked by the test itself
    loss = c["E"] + c["A"] / n_ref ** c["alpha"] + c["B"] / d_ref ** c["beta"]
    assert opt.loss == pytest.approx(loss, rel=1e-6)
    d = opt.to_dict()
    assert set(d) >= {"params", "tokens", "loss", "flops", "intervals", "law", "exponents"}
    assert d["law"] == "besiroglu2024" and d["flops"] == C_CHINCHILLA


def test_chinchilla_shape_is_recognised(published, kaplan_published):
    assert chinchilla_terms(published.get().law, "params", "tokens") is not None
    assert chinchilla_terms(kaplan_published.get().law, "params", "tokens") is None
    assert law_roles(published.get().law, ["params", "tokens"]) == {"params": "N", "tokens": "D"}


@pytest.mark.parametrize("C", [1e21, C_CHINCHILLA, 1e25])
def test_numerical_path_on_kaplan_form_is_a_constrained_minimum(kaplan_published, C):
    res = kaplan_published
    opt = compute_optimal(res, C)
    assert opt.method == "numerical"
    law = res.get().law

    def loss(n):
        n = np.asarray(n, dtype=float)
        return law.evaluate({"params": n, "tokens": C / (6 * n)}, law.constants)

    assert opt.loss == pytest.approx(float(loss([opt.n])[0]), rel=1e-12)
    # neighbours along the constraint are worse
    for f in (0.9, 0.99, 1.01, 1.1):
        assert loss([opt.n * f])[0] > opt.loss
    # and nothing on a dense grid of the constraint does better
    grid = np.geomspace(opt.n / 1e4, opt.n * 1e4, 4001)
    assert np.nanmin(loss(grid)) >= opt.loss - 1e-12
    # interior: N* and D* both well inside the bounds of the search
    assert 1 < opt.n < C / 6 and opt.d > 1


def test_custom_flops_per_param_token(published):
    opt = compute_optimal(published, 1e23, k=8.0)
    assert math.isclose(8.0 * opt.n * opt.d, 1e23, rel_tol=1e-9)
    n_ref, _ = _closed_form(published.get().law.constants, 1e23, k=8.0)
    assert opt.n == pytest.approx(n_ref, rel=1e-9)


def test_bootstrap_intervals(refit):
    res, _ = refit
    for name in ("hoffmann2022", "kaplan2020"):
        opt = compute_optimal(res, 1e23, law=name)
        assert opt.n_draws > 5
        for col, value in (("params", opt.n), ("tokens", opt.d), ("loss", opt.loss)):
            lo, hi = opt.intervals[col]
            assert lo < hi
            assert lo <= value * 1.05 and value <= hi * 1.05  # the point estimate sits in (or at) its interval
        lo, hi = opt.frontier["params_band"]
        assert len(lo) == len(opt.frontier["flops"])


def test_law_without_n_and_d_roles_is_a_data_error():
    res = discover.fit(GRID, target="loss", features=["params"], laws=["kaplan2020_n"], published=True, bootstrap=0)
    with pytest.raises(DataError, match="role D"):
        compute_optimal(res, 1e23)


def test_bad_budget_is_a_data_error(published):
    for bad in (0, -1, float("nan"), "lots"):
        with pytest.raises(DataError):
            compute_optimal(published, bad)


def test_per_group_law_needs_a_group():
    frame = pd.read_csv(GRID)
    a = frame.assign(g="small")
    b = frame.assign(g="large", loss=frame["loss"] * 1.05)
    table = pd.concat([a, b], ignore_index=True)
    res = discover.fit(table, target="loss", features=["params", "tokens"], group="g", laws=["hoffmann2022"],
                       published=True, bootstrap=0)
    assert res.get().law.grouped
    with pytest.raises(DataError, match="--group"):
        compute_optimal(res, 1e23)
    with pytest.raises(DataError, match="not one of"):
        compute_optimal(res, 1e23, group="medium")
    opt = compute_optimal(res, 1e23, group="large")
    n_ref, _ = _closed_form(res.get().law.constants["large"], 1e23)  # the test's own closed form
    assert opt.group == "large" and opt.n == pytest.approx(n_ref, rel=1e-4)


def test_other_variables_need_fixed_values():
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 80))
    d = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 80))
    lr = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), 80))
    loss = 1.7 + 400 / n**0.34 + 410 / d**0.28 + 0.05 * (np.log(lr) - np.log(1e-3)) ** 2
    table = pd.DataFrame({"params": n, "tokens": d, "learning_rate": lr, "loss": loss})
    res = discover.fit(table, target="loss", features=["params", "tokens", "learning_rate"],
                       laws=["E + A/params**alpha + B/tokens**beta + c*(log(learning_rate) - m)**2"], bootstrap=0)
    with pytest.raises(DataError, match="learning_rate"):
        compute_optimal(res, 1e22)
    opt = compute_optimal(res, 1e22, fixed={"learning_rate": 1e-3})
    assert opt.method == "numerical" and opt.fixed == {"learning_rate": 1e-3}
    c = res.get().law.constants
    n_ref, _ = _closed_form(c, 1e22)
    assert opt.n == pytest.approx(n_ref, rel=1e-3)  # the lr term is a constant shift along the constraint


# ----------------------------------------------------------------------------- CLI
def test_cli_json(refit, capsys):
    _, path = refit
    assert main(["optimal", str(path), "--flops", "1e23", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["law"] == "hoffmann2022"
    res, _ = refit
    n_ref, d_ref = _closed_form(res.get("hoffmann2022").law.constants, 1e23)  # the test's own closed form
    assert doc["params"] == pytest.approx(n_ref, rel=1e-4) and doc["tokens"] == pytest.approx(d_ref, rel=1e-4)
    assert set(doc["intervals"]) == {"params", "tokens", "loss"}
    lo, hi = doc["intervals"]["params"]
    assert lo < doc["params"] < hi


def test_cli_text_and_figure(refit, capsys, tmp_path):
    _, path = refit
    out = tmp_path / "o"
    assert main(["optimal", str(path), "--flops", "1e24", "--law", "kaplan2020", "--flops-per-param-token", "6",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "params*" in text and "tokens*" in text and "kaplan2020" in text and "numerical" in text
    png = out / "optimal_frontier.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert json.loads((out / "optimal.json").read_text())["law"] == "kaplan2020"


def test_cli_errors_exit_2(refit, capsys, tmp_path):
    _, path = refit
    assert main(["optimal", str(path), "--flops", "-5"]) == 2
    assert main(["optimal", str(path), "--flops", "1e23", "--law", "nosuchlaw"]) == 2
    assert main(["optimal", str(path), "--flops", "1e23", "--group", "x"]) == 2
    assert main(["optimal", str(tmp_path / "missing.json"), "--flops", "1e23"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 4 and "Traceback" not in err
