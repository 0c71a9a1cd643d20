"""Notebook use: rich display, figures from the API, the direction of the target."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import discover
from discover.cli import main
from discover.errors import DataError
from discover.optimal import compute_optimal
from discover.roles import target_direction

GRID = Path(__file__).resolve().parent.parent / "datasets" / "chinchilla_grid.csv"


@pytest.fixture(scope="module")
def grid():
    return pd.read_csv(GRID)


@pytest.fixture(scope="module")
def res(grid):
    return discover.fit(grid, target="loss", features=["params", "tokens"], split="compute:0.2",
                        laws=["hoffmann2022", "kaplan2020", "hestness2017"], bootstrap=20)


def test_repr_html_holds_the_recommended_law_its_constants_and_the_split(res):
    page = res._repr_html_()
    best = res.best_scored
    assert best.law.name in page and f'alt="{best.law.formula}"' in page.replace("&#x27;", "'")
    sizes = res.split["sizes"]
    assert f"train {sizes['train']}, validation {sizes['val']}, test {sizes['test']}" in page
    for name, value in best.law.constants.items():
        assert f"<td>{name}</td>" in page
        assert f"{value:.5g}"[:4] in page  # value printed with 5 significant digits
    lo, hi = best.intervals["alpha"]
    assert re.search(r"<td>alpha</td><td>[^<]*\[[^<]*,[^<]*\]</td>", page), "interval of alpha not shown"
    assert lo < best.law.constants["alpha"] < hi
    for s in res.laws:  # the top of the leaderboard, every formula as math
        assert s.law.name in page


def test_plain_repr_is_short_and_names_the_law(res):
    text = repr(res)
    assert len(text.splitlines()) == 2 and res.best.formula in text and "test R²" in text


def test_plot_returns_a_figure_for_every_kind(res, grid):
    for kind in ("fit", "forecast", "residuals", "pareto", "optimal"):
        fig = res.plot(kind, data=grid)
        assert isinstance(fig, Figure), kind
        assert fig.axes and fig.axes[0].has_data(), kind
    with pytest.raises(DataError, match="unknown plot kind 'histogram'"):
        res.plot("histogram", data=grid)
    with pytest.raises(DataError, match="no fit figure"):
        res.plot("fit")  # without the table there is nothing to draw the runs from


def test_law_plot_and_latex(res, grid):
    fig = res.best.plot(grid, target="loss", x="params")
    assert isinstance(fig, Figure) and fig.axes[0].get_xlabel() == "params"
    assert fig.axes[0].get_xscale() == "log"
    assert r"\mathrm{params}" in res.best._repr_latex_() and "<table>" in res.best._repr_html_()
    unfitted = discover.Law.from_formula("E + A/params**alpha", variables=["params"])
    with pytest.raises(DataError, match="no fitted constants"):
        unfitted.plot(grid)
    board = res.leaderboard
    assert board["latex"].str.startswith("$").all() and board["latex"].str.contains(r"\\mathrm{tokens}").any()


@pytest.mark.parametrize("name,direction", [("loss", "minimize"), ("val_bpb", "minimize"), ("perplexity", "minimize"),
                                            ("accuracy", "maximize"), ("mmlu_acc", "maximize"),
                                            ("hellaswagAcc", "maximize"), ("top1_error", "minimize"),
                                            ("pass@1", "maximize"), ("accumulated_loss", "minimize")])
def test_target_direction_from_the_name(name, direction):
    assert target_direction(name) == direction


# ----------------------------------------------------------------------------- an accuracy law
ACC_LAW = "E - A/params**alpha - B/tokens**beta"


@pytest.fixture(scope="module")
def accuracy_table():
    rng = np.random.default_rng(3)
    n = np.exp(rng.uniform(np.log(1e8), np.log(1e10), 120))
    d = np.exp(rng.uniform(np.log(2e9), np.log(2e11), 120))
    acc = 0.9 - 40 / n**0.3 - 60 / d**0.3
    return pd.DataFrame({"params": n, "tokens": d, "accuracy": acc * (1 + 0.002 * rng.standard_normal(120))})


@pytest.fixture(scope="module")
def accuracy_result(accuracy_table):
    return discover.fit(accuracy_table, target="accuracy", features=["params", "tokens"], laws=[ACC_LAW],
                        bootstrap=10)


def _dense_grid_optimum(law, C: float, k: float = 6.0, sign: float = 1.0):
    """The test's own search: every N on a fine log grid, D = C/(kN), the best predicted value."""
    n = np.geomspace(1.0, C / k, 400_001)
    pred = law.predict({"params": n, "tokens": C / (k * n)})
    i = int(np.nanargmax(sign * pred))
    return n[i], pred[i]


def test_optimal_of_an_accuracy_law_is_its_constrained_maximum(accuracy_result):
    assert accuracy_result.direction == "maximize"
    C = 1e22
    opt = compute_optimal(accuracy_result, C)
    n_grid, acc_grid = _dense_grid_optimum(accuracy_result.best, C)
    assert opt.direction == "maximize" and opt.method == "numerical"
    assert opt.n == pytest.approx(n_grid, rel=2e-3)  # grid spacing is 1e-4 in log N
    assert opt.loss == pytest.approx(acc_grid, abs=1e-9) and opt.loss >= acc_grid - 1e-12
    lo, hi = opt.intervals["params"]
    assert lo <= opt.n <= hi


def test_minimizing_an_accuracy_is_refused_not_answered(accuracy_table):
    res = discover.fit(accuracy_table, target="accuracy", features=["params", "tokens"], laws=[ACC_LAW],
                       bootstrap=0, direction="minimize")
    with pytest.raises(DataError, match="no interior compute-optimal point"):
        compute_optimal(res, 1e22)


def test_cli_maximize_and_optimal(accuracy_table, tmp_path, capsys):
    table = accuracy_table.rename(columns={"accuracy": "y"})
    csv = tmp_path / "acc.csv"
    table.to_csv(csv, index=False)
    out = tmp_path / "out"
    assert main(["fit", str(csv), "--target", "y", "--features", "params,tokens", "--law", ACC_LAW, "--maximize",
                 "--bootstrap", "0", "--out", str(out), "--quiet"]) == 0
    res = discover.Result.from_json(out / "results.json")
    assert res.direction == "maximize"
    capsys.readouterr()
    assert main(["optimal", str(out / "results.json"), "--flops", "1e22"]) == 0
    text = capsys.readouterr().out
    assert "largest predicted y" in text
    n_grid, _ = _dense_grid_optimum(res.best, 1e22)
    got = float(re.search(r"params\* += ([0-9.e+]+)", text).group(1))
    assert got == pytest.approx(n_grid, rel=2e-3)
