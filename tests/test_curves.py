"""Curve tables: schedule features against a hand computation, bad curve input, curve splits,
schedule laws in the catalog and the grammar, and the forecast of a planned schedule."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import discover
from discover import DataError
from discover.engines.terms import make_vars, term_library
from discover.schedule import MPL_SHAPE, CurveSpec, add_schedule_features, run_features
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.splits import TEST, TRAIN, VAL

# ----------------------------------------------------------------------------- a synthetic ladder of curves
SIZES = (1e8, 2e8, 4e8, 8e8)
LENGTHS = (2000, 4000, 8000)
TRUE = {"E": 2.0, "A": 400.0, "alpha": 0.3, "B": 1.5, "beta": 0.5, "C": 0.6}


def cosine(steps, last, peak=1e-3, warmup=200):
    frac = np.clip((steps - warmup) / (last - warmup), 0, 1)
    lr = peak * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * frac)))
    return np.where(steps < warmup, peak * steps / warmup, lr)


def ladder(noise=0.002, seed=0) -> pd.DataFrame:
    """Runs of four sizes and three lengths, cosine schedules stretched to each length; the loss follows
    Tissue et al.'s law with Chinchilla's size term, E + A/N^alpha + B S1^-beta - C S2."""
    rng = np.random.default_rng(seed)
    parts = []
    for n in SIZES:
        for last in LENGTHS:
            steps = np.arange(100, last + 1, 100, dtype=float)
            lr = cosine(steps, last)
            f = run_features(steps, lr)
            loss = (TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] * f["lr_area"] ** -TRUE["beta"]
                    - TRUE["C"] * f["lr_anneal"])
            parts.append(pd.DataFrame({"run": f"{n:.0e}-{last}", "params": n, "steps_total": last, "step": steps,
                                       "lr": lr, "tokens": steps * 5e5,
                                       "loss": loss * np.exp(noise * rng.standard_normal(len(steps)))}))
    return pd.concat(parts, ignore_index=True)


CURVE = dict(curve="run", step="step", lr="lr")


# ----------------------------------------------------------------------------- features by hand
def test_features_match_a_hand_computation_step_by_step():
    lam = 0.5
    f = run_features(np.array([1.0, 2, 3, 4]), np.array([1.0, 1, 0.5, 0.5]), momentum=lam)
    assert f["lr_area"] == pytest.approx([1, 2, 2.5, 3])
    # the LR falls by 0.5 at step 3: m3 = 0.5, m4 = lam * 0.5; S2 sums them
    assert f["lr_anneal"] == pytest.approx([0, 0, 0.5, 0.5 + 0.5 * lam])
    assert f["steps_after_peak"] == pytest.approx([0, 1, 2, 3])
    assert f["lr_frac"] == pytest.approx([1, 1, 0.5, 0.5])
    C, beta, gamma = MPL_SHAPE["C"], MPL_SHAPE["beta"], MPL_SHAPE["gamma"]

    def G(x):
        return 1 - (C * x + 1) ** -beta
    # one drop (0.5, at step 3); its area S_3(s) is 0.5 at s = 3 and 1.0 at s = 4, lr_3 = 0.5
    assert f["lr_drop"] == pytest.approx([0, 0, 0.5 * G(0.5 ** -gamma * 0.5), 0.5 * G(0.5 ** -gamma * 1.0)])


def test_areas_are_integrated_over_steps_not_rows():
    # evaluations at steps 2 and 4 only: the LR is interpolated over steps 1..4 (held at 1 before the
    # first evaluation, since it does not rise: no warmup), 1, 1, 0.75, 0.5
    f = run_features(np.array([2.0, 4.0]), np.array([1.0, 0.5]))
    assert f["lr_area"] == pytest.approx([2.0, 3.25])
    # a warmup (the LR rises between the first two evaluations) starts from 0 at step 0: .25 .5 .75 1
    w = run_features(np.array([2.0, 4.0]), np.array([0.5, 1.0]))
    assert w["lr_area"] == pytest.approx([0.75, 2.5])
    assert w["lr_anneal"] == pytest.approx([0.0, 0.0])  # a warmup is not an anneal


def test_a_long_run_is_integrated_on_a_coarser_grid_to_the_same_areas():
    from discover import schedule
    steps = np.array([1e3, 5e6, 1e7])
    lr = np.array([1e-3, 5e-4, 1e-4])
    exact_area = 1e-3 * 1e3 + (1e-3 + 5e-4) / 2 * (5e6 - 1e3) + (5e-4 + 1e-4) / 2 * 5e6
    f = schedule.run_features(steps, lr)
    assert f["lr_area"][-1] == pytest.approx(exact_area, rel=1e-3)


def test_annealing_area_of_a_long_run_matches_its_closed_form():
    # a linear decay from 1e-3 by d per step after step 1: m_t = d (1 - lam^t) / (1 - lam), and
    # S2(s) = sum_t m_t = d/(1-lam) * (s - lam (1 - lam^s) / (1 - lam)); the run is longer than the
    # integration grid, so it is integrated on a coarse one
    from discover import schedule
    lam, last = 0.999, 3 * schedule.MAX_GRID
    d = 1e-3 * 0.9 / (last - 1)
    steps = np.array([1.0, last / 3, 2 * last / 3, last]).round()
    lr = 1e-3 - d * (steps - 1)
    s = steps - 1  # steps since the peak (step 1)
    closed = d / (1 - lam) * (s - lam * (1 - lam ** s) / (1 - lam))
    f = schedule.run_features(steps, lr, momentum=lam)
    assert f["lr_anneal"] == pytest.approx(closed, rel=1e-5)  # between coarse grid points: interpolated
    # the same decay on a run just under the grid's size gives the same S2 per unit of drop
    short = schedule.MAX_GRID - 10
    ds = 1e-3 * 0.9 / (short - 1)
    g = schedule.run_features(np.array([1.0, short]), np.array([1e-3, 1e-3 - ds * (short - 1)]), momentum=lam)
    ss = short - 1
    assert g["lr_anneal"][-1] == pytest.approx(ds / (1 - lam) * (ss - lam * (1 - lam ** ss) / (1 - lam)), rel=1e-6)


def test_sparse_evaluations_carry_the_momentum_across_the_steps_between_them():
    # evaluations at steps 1, 3, 5 of an LR 1, 1, 0: interpolated per step 1, 1, 1, .5, 0 (peak at 1..3);
    # drops of .5 at steps 4 and 5: m4 = .5, m5 = lam*.5 + .5; S2(5) = m4 + m5
    lam = 0.5
    f = run_features(np.array([1.0, 3, 5]), np.array([1.0, 1.0, 0.0]), momentum=lam)
    assert f["lr_anneal"] == pytest.approx([0, 0, 0.5 + (lam * 0.5 + 0.5)])
    assert f["lr_area"] == pytest.approx([1, 3, 3.5])


def test_step_zero_has_trained_nothing_and_fractional_steps_are_refused():
    f = run_features(np.array([0.0, 1, 2]), np.array([1.0, 1, 0.5]))
    assert f["lr_area"] == pytest.approx([0, 1, 1.5]) and f["lr_anneal"][0] == 0 and f["lr_drop"][0] == 0
    df = ladder()
    df["step"] = df["step"] / 1000  # thousands of steps: the areas would be wrong by the factor
    assert "fractional step" in _bad(df)


def test_curve_table_features_join_and_are_named_in_results():
    df = ladder()
    res = discover.fit(df, target="loss", features=["params"], laws=["tissue2024_N"], split="none", bootstrap=0,
                       **CURVE)
    assert list(res.features) == ["params", "lr_area", "lr_anneal", "lr_drop"]
    curve = res.to_dict()["dataset"]["curve"]
    assert curve["run"] == "run" and curve["step"] == "step" and curve["momentum"] == 0.999
    assert set(curve["features"]) == {"lr_area", "lr_anneal", "lr_drop"}
    assert "forward area" in curve["features"]["lr_area"]
    # named features replace the default ones
    res = discover.fit(df, target="loss", features=["params", "lr_area"], laws=["E + A/params**a + B/lr_area**b"],
                       split="none", bootstrap=0, **CURVE)
    assert list(res.features) == ["params", "lr_area"]


def test_schedule_features_that_never_vary_are_left_out_and_said_unless_named():
    """Runs at a constant learning rate have no anneal: lr_anneal and lr_drop are 0 on every row.
    Added by default, a search leaves them out with a warning, so a constant-LR ladder can be
    searched; named by the user, they are an error like any feature that never varies. A fit keeps
    them, so that a law the user names (Tissue et al.'s, which reads S2) binds as it reads."""
    df = ladder().assign(lr=1e-3)
    ds, _ = prepare(df, TableSpec(target="loss", features=("params",), split="largest:params:0.2", **CURVE),
                    search=True)
    assert ds.features == ["params", "lr_area"]
    (note,) = [n for n in ds.notes if "lr_anneal" in n]
    assert "lr_drop" in note and "left out" in note and "constant learning rate" in note
    assert _prepare(df, "largest:params:0.2")[0].features == ["params", "lr_area", "lr_anneal", "lr_drop"]
    fitted = discover.fit(df, target="loss", features=["params"], laws=["tissue2024_N"], split="largest:params:0.2",
                          bootstrap=0, **CURVE)
    assert fitted.best.name == "tissue2024_N" and "lr_anneal" in fitted.best.variables
    res = discover.discover(df, target="loss", features=["params"], split="largest:params:0.2", time_budget=3,
                            bootstrap=0, **CURVE)
    assert list(res.features) == ["params", "lr_area"] and res.best_scored.ok
    assert note in res.warnings
    with pytest.raises(DataError, match="'lr_anneal' is constant"):
        discover.discover(df, target="loss", features=["params", "lr_anneal"], split="largest:params:0.2",
                          time_budget=3, bootstrap=0, **CURVE)


# ----------------------------------------------------------------------------- bad curve input
def _bad(df, **kw):
    args = {**CURVE, **kw}
    with pytest.raises(DataError) as err:
        discover.fit(df, target="loss", features=["params"], laws=["tissue2024"], split="none", bootstrap=0, **args)
    return str(err.value)


def test_bad_curve_input_is_a_one_line_error():
    df = ladder()
    unsorted = df.copy()
    unsorted.loc[[0, 1], "step"] = unsorted.loc[[1, 0], "step"].to_numpy()
    assert "not in increasing order" in _bad(unsorted)
    dup = df.copy()
    dup.loc[1, "step"] = dup.loc[0, "step"]
    assert "twice" in _bad(dup)
    one = pd.concat([df, df.iloc[[0]].assign(run="lonely")], ignore_index=True)
    assert "only one evaluation" in _bad(one)
    neg = df.copy()
    neg.loc[3, "lr"] = -1e-4
    assert "negative learning rate" in _bad(neg)
    missing = df.copy()
    missing.loc[5, "lr"] = np.nan
    assert "missing or non-numeric" in _bad(missing)
    assert "'stepz'" in _bad(df, step="stepz")
    clash = df.assign(lr_area=1.0)
    assert "derived schedule feature" in _bad(clash)
    for msg in (_bad(df, min_step=1e9),):
        assert "past the last step" in msg
    with pytest.raises(DataError, match="step must name the step column"):
        discover.fit(df, target="loss", features=["params"], curve="run", split="none")
    with pytest.raises(DataError, match="curve must name the run column"):
        discover.fit(df, target="loss", features=["params"], lr="lr", split="none")
    with pytest.raises(DataError, match="tail"):
        discover.fit(df, target="loss", features=["params"], split="tail:0.2")


def test_bad_curve_input_on_the_cli_is_exit_2_and_one_line(tmp_path):
    df = ladder()
    df.loc[[0, 1], "step"] = df.loc[[1, 0], "step"].to_numpy()
    path = tmp_path / "curves.csv"
    df.to_csv(path, index=False)
    p = subprocess.run([sys.executable, "-m", "discover", "fit", str(path), "--target", "loss", "--features", "params",
                        "--curve", "run", "--step", "step", "--lr", "lr", "--law", "tissue2024"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "increasing order" in p.stderr


# ----------------------------------------------------------------------------- splits keep curves whole
def _prepare(df, split, **kw):
    from discover.options import TableSpec
    from discover.pipeline import prepare
    return prepare(df, TableSpec(target="loss", features=("params",), split=split, **CURVE, **kw))


def test_largest_split_holds_out_whole_curves_and_bands_follow():
    ds, sp = _prepare(ladder(), "largest:params:0.2")
    runs = ds.runs
    for label in (TEST, VAL):
        rows = sp.labels == label
        assert rows.any()
        # every run is wholly in or wholly out of the band
        assert set(runs[rows]).isdisjoint(set(runs[~rows]))
    assert set(ds.frame.loc[sp.labels == TEST, "params"]) == {8e8}
    assert set(ds.frame.loc[sp.labels == VAL, "params"]) == {4e8}
    # below the validation band, each backtest still leaves rows of two sizes or more to fit on
    for fold in sp.folds:
        for fit_rows, _ in fold.pieces:
            assert ds.frame.loc[fit_rows, "params"].nunique() >= 2


def test_column_split_on_curves_carves_bands_of_whole_runs():
    df = ladder()
    df["split"] = np.where(df["steps_total"] == max(LENGTHS), "test", "train")  # the longest schedules
    ds, sp = prepare(df, TableSpec(target="loss", features=["params", "tokens"], split="column:split", **CURVE))
    runs = ds.runs
    for fold in sp.folds:
        for fit_rows, eval_rows in fold.pieces:
            assert not set(runs[fit_rows]) & set(runs[eval_rows]), fold.name  # no run on both sides
    assert not set(runs[sp.rows(VAL)]) & set(runs[sp.rows(TRAIN)])


def test_compute_split_ranks_whole_runs_by_their_final_compute():
    ds, sp = _prepare(ladder().assign(flops=lambda d: 6 * d.params * d.tokens), "compute:0.2")
    test = sp.labels == TEST
    assert set(ds.runs[test]).isdisjoint(set(ds.runs[~test]))


def test_longest_schedules_held_out_whole():
    ds, sp = _prepare(ladder(), "largest:steps_total:0.2")
    assert set(ds.frame.loc[sp.labels == TEST, "steps_total"]) == {8000}


def test_tail_split_cuts_the_end_of_every_curve():
    ds, sp = _prepare(ladder(), "tail:0.25")
    steps = ds.frame["step"].to_numpy()
    for run in np.unique(ds.runs):
        m = ds.runs == run
        last = steps[m].max()
        test = m & (sp.labels == TEST)
        assert test.any() and np.all(steps[test] > 0.75 * last)
        assert np.all(steps[m & (sp.labels != TEST)] <= 0.75 * last)
        val = m & (sp.labels == VAL)  # the validation band is the tail of what is left of the curve
        assert val.any() and steps[val].min() > steps[m & (sp.labels == TRAIN)].max()


def test_min_step_drops_early_rows_but_keeps_their_area():
    df = ladder()
    ds, _ = _prepare(df, "none", min_step=1000)
    assert ds.frame["step"].min() == 1000
    full, _ = _prepare(df, "none")
    a = ds.frame.set_index(["run", "step"])["lr_area"]
    b = full.frame.set_index(["run", "step"])["lr_area"]
    assert np.allclose(a, b.loc[a.index])


# ----------------------------------------------------------------------------- laws
def test_catalog_schedule_laws_cite_their_papers_and_bind():
    from discover import catalog
    for name, arxiv in (("tissue2024", "2408.11029"), ("luo2025", "2503.12811"), ("tissue2024_N", "2408.11029")):
        assert arxiv in catalog.get(name).citation
    names = {law.name for law in catalog.applicable(["params", "tokens", "lr_area", "lr_anneal", "lr_drop"])}
    assert {"tissue2024", "luo2025", "tissue2024_N", "luo2025_N", "hoffmann2022_S2"} <= names


def test_the_generating_law_refits_and_extrapolates_to_a_larger_size():
    res = discover.fit(ladder(), target="loss", features=["params", "tokens"], laws=["tissue2024_N", "hoffmann2022"],
                       split="largest:params:0.2", bootstrap=0, **CURVE)
    law = res.get("tissue2024_N")
    assert law.metrics["test"]["r2"] > 0.99
    assert law.law.constants["beta"] == pytest.approx(TRUE["beta"], abs=0.05)
    assert law.law.constants["alpha"] == pytest.approx(TRUE["alpha"], abs=0.05)
    assert res.get("hoffmann2022").metrics["test"]["r2"] < law.metrics["test"]["r2"]


def test_grammar_takes_annealing_areas_linearly_or_saturating_only():
    df = add_schedule_features(ladder(), CurveSpec("run", "step", "lr"))
    X = {c: df[c].to_numpy(float) for c in ("params", "lr_area", "lr_anneal")}
    lib = term_library(make_vars(X, list(X)))
    on_anneal = {t.kind for t in lib if any(v.num == "lr_anneal" for v in t.vars)}
    assert on_anneal == {"lin", "satexp", "annealsize"}
    assert any(t.kind == "pow" and t.vars[0].num == "lr_area" for t in lib)  # S1 is a scale: powers of it
    assert not any(v.den is not None and "lr_" in v.name for v in make_vars(X, list(X)))  # no ratios of areas


# ----------------------------------------------------------------------------- a planned schedule
def _schedule(kind, last=8000, peak=1e-3):
    steps = np.arange(100, last + 1, 100, dtype=float)
    if kind == "wsd":  # warmup, constant, then a linear decay over the last fifth
        lr = np.where(steps > 0.8 * last, peak * (1 - 0.9 * (steps - 0.8 * last) / (0.2 * last)), peak)
    else:
        lr = np.full_like(steps, peak)
    lr = np.where(steps < 200, peak * steps / 200, lr)
    return pd.DataFrame({"step": steps, "lr": lr})


def test_predict_schedule_anneal_lowers_the_end_of_the_curve(tmp_path):
    df = ladder()
    res = discover.fit(df, target="loss", features=["params"], laws=["tissue2024_N"], split="largest:params:0.2",
                       bootstrap=20, **CURVE)
    res.to_json(tmp_path / "results.json")
    for kind in ("wsd", "const"):
        _schedule(kind).to_csv(tmp_path / f"{kind}.csv", index=False)
    out = {}
    for kind in ("wsd", "const"):
        p = subprocess.run([sys.executable, "-m", "discover", "predict", str(tmp_path / "results.json"),
                            "--schedule", str(tmp_path / f"{kind}.csv"), "--at", "params=1.6e9", "--json",
                            "--curve-out", str(tmp_path / f"{kind}-curve.csv")],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        out[kind] = json.loads(p.stdout)
    wsd, const = out["wsd"], out["const"]
    assert wsd["final"] < const["final"]
    lo, hi = wsd["interval"]
    assert lo < wsd["final"] < hi
    # the forecast follows the generating law along the planned schedule
    f = run_features(_schedule("wsd")["step"].to_numpy(), _schedule("wsd")["lr"].to_numpy())
    truth = TRUE["E"] + TRUE["A"] / 1.6e9 ** TRUE["alpha"] + TRUE["B"] * f["lr_area"][-1] ** -TRUE["beta"] \
        - TRUE["C"] * f["lr_anneal"][-1]
    assert wsd["final"] == pytest.approx(truth, rel=0.01)
    curve = pd.read_csv(tmp_path / "wsd-curve.csv")
    assert {"step", "lr", "lr_area", "lr_anneal", "prediction", "lower", "upper"} <= set(curve.columns)
    assert len(curve) == len(_schedule("wsd"))


def test_predict_schedule_errors(tmp_path):
    df = ladder()
    res = discover.fit(df, target="loss", features=["params"], laws=["tissue2024_N"], split="none", bootstrap=0,
                       **CURVE)
    with pytest.raises(DataError, match="'lr' column"):
        res.predict_schedule(pd.DataFrame({"step": [1.0, 2.0]}), at={"params": 1e9})
    with pytest.raises(DataError, match="derived from the schedule"):
        res.predict_schedule(_schedule("wsd"), at={"params": 1e9, "lr_area": 3.0})
    with pytest.raises(DataError, match="params"):
        res.predict_schedule(_schedule("wsd"))
    flat = discover.fit(df, target="loss", features=["params", "tokens"], laws=["hoffmann2022"], split="none",
                        bootstrap=0)
    with pytest.raises(DataError, match="not fitted on a curve table"):
        flat.predict_schedule(_schedule("wsd"), at={"params": 1e9})
    assert math.isfinite(float(res.predict_schedule(_schedule("wsd"), at={"params": 1e9})["prediction"].iloc[-1]))


def test_report_draws_each_run_and_the_law_along_it(tmp_path):
    df = ladder()
    res = discover.fit(df, target="loss", features=["params"], laws=["tissue2024_N"], split="largest:params:0.2",
                       bootstrap=0, **CURVE)
    fig = res.plot("curves", data=df)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step"
    assert len(ax.lines) == len(SIZES) * len(LENGTHS)  # one law line per run (12 runs, all drawn)


def test_bootstrap_of_a_curve_table_resamples_whole_runs():
    from discover.fitting.solver import Rows
    clusters = np.repeat(np.array(["a", "b", "c", "d"]), [5, 3, 7, 2])
    rows = Rows([np.arange(17.0)], np.arange(1.0, 18.0), np.ones(17), True, None)
    rows.clusters = clusters
    rng = np.random.default_rng(1)
    for _ in range(20):
        idx = rows.draw(rng)
        counts = pd.Series(idx).value_counts()
        for label in "abcd":
            members = np.flatnonzero(clusters == label)
            # a run is drawn whole or not at all: all its rows the same number of times
            assert len({int(counts.get(i, 0)) for i in members}) == 1
        # as many runs drawn as there are runs
        assert sum(counts.get(int(np.flatnonzero(clusters == g)[0]), 0) for g in "abcd") == 4
    plain = Rows([np.arange(17.0)], np.arange(1.0, 18.0), np.ones(17), True, None)
    assert len(plain.draw(rng)) == 17


def test_paired_comparison_on_curves_counts_runs_not_points():
    from discover.select import cluster_se, paired_excess
    rng = np.random.default_rng(0)
    # four runs of 100 points whose excess moves together within each run: the row-level standard
    # error is ten times too small; the cluster-robust one is that of four run means
    run_effect = np.array([0.5, -0.2, 0.9, 0.1])
    d = np.repeat(run_effect, 100) + 0.01 * rng.standard_normal(400)
    labels = np.repeat(list("abcd"), 100)
    se = cluster_se(d, labels)
    means = pd.Series(d).groupby(labels).mean().to_numpy()
    assert se == pytest.approx(means.std(ddof=1) / 2, rel=0.02)
    naive = d.std(ddof=1) / 20
    assert se > 5 * naive
    a = {"val": np.sqrt(np.abs(d) + 1.0)}
    b = {"val": np.ones(400)}
    assert paired_excess(a, b, clusters={"val": labels})[1] > 5 * paired_excess(a, b)[1]
    assert cluster_se(d, np.repeat("a", 400)) == math.inf  # one run: no evidence on the spread


def test_selection_on_a_curve_table_says_its_standard_errors_are_over_runs():
    res = discover.fit(ladder(), target="loss", features=["params", "tokens"], laws=["tissue2024_N", "hoffmann2022"],
                       split="largest:params:0.2", bootstrap=0, **CURVE)
    assert res.to_dict()["selection"]["standard_errors"] == "cluster-robust over runs"


def test_a_planned_schedule_warms_up_then_holds_or_decays_linearly():
    from discover.schedule import lr_schedule
    steps = np.array([0.0, 500, 1000, 5000, 8000, 9000, 10000])
    assert lr_schedule(steps, 1e-3) == pytest.approx([0, 5e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3])
    # WSD: stable to 80 % of the run, then linearly to 10 % of the peak at its end
    assert lr_schedule(steps, 1e-3, "wsd") == pytest.approx([0, 5e-4, 1e-3, 1e-3, 1e-3, 5.5e-4, 1e-4])
    with pytest.raises(DataError, match="unknown schedule"):
        lr_schedule(steps, 1e-3, "cosine")
    with pytest.raises(DataError, match="momentum"):
        run_features(steps[1:], lr_schedule(steps[1:], 1e-3), momentum=1.0)


def test_newey_west_standard_error_matches_the_bartlett_long_run_variance():
    from discover.select import newey_west_bandwidth, newey_west_se
    d = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 2.0, 3.0])
    assert newey_west_bandwidth(8) == 2 and newey_west_bandwidth(100) == 4 and newey_west_bandwidth(600) == 5
    x = d - d.mean()
    lag = np.abs(np.subtract.outer(np.arange(8), np.arange(8)))
    weights = np.where(lag <= 2, 1 - lag / 3, 0.0)  # Bartlett, two lags
    assert newey_west_se(d) == pytest.approx(math.sqrt(x @ weights @ x * 8 / 7) / 8, rel=1e-12)
    # a series that moves together along its order has a larger standard error than its rows say
    rng = np.random.default_rng(1)
    ar = np.zeros(400)
    for i in range(1, 400):
        ar[i] = 0.9 * ar[i - 1] + rng.standard_normal()
    assert newey_west_se(ar) > 1.8 * ar.std(ddof=1) / 20  # (a row-level one would be 1x; the long-run one 4.4x)
    # no lag crosses from one stretch (a band of the run) into the next
    two = np.concatenate([d, d[::-1]])
    x = two - two.mean()
    within = np.add.outer(np.repeat([0, 1], 8), np.zeros(16))
    lag = np.abs(np.subtract.outer(np.arange(16), np.arange(16)))
    w = np.where((lag <= 2) & (within == within.T), 1 - lag / 3, 0.0)
    assert newey_west_bandwidth(16) == 2
    assert newey_west_se(two, [8, 8]) == pytest.approx(math.sqrt(x @ w @ x * 16 / 15) / 16, rel=1e-12)
    assert newey_west_se(two, [8, 8]) != pytest.approx(newey_west_se(two), rel=1e-3)


def test_one_run_selecting_is_judged_along_its_steps_not_by_the_fewest_constants():
    """A ladder of one run per size (four sizes, constant LR): the one run held out to select gives
    no spread over runs. A cluster-robust standard error is infinite there, every law is as good as
    the best, and the law of fewest constants was recommended (Kaplan's N-only law, test R2 -0.36).
    Along the run's steps (Newey-West) the generating law is told apart from it."""
    from discover.select import newey_west_se, paired_test
    rng = np.random.default_rng(0)
    parts = []
    for n in SIZES:
        steps = np.arange(100, 5001, 100, dtype=float)
        loss = (1.8 + 400 / n ** 0.33 + 300 / (steps * 1e6) ** 0.3) * np.exp(0.002 * rng.standard_normal(len(steps)))
        parts.append(pd.DataFrame({"run": f"{n:.0e}", "params": n, "step": steps, "tokens": steps * 1e6,
                                   "lr": 1e-3, "loss": loss}))
    df = pd.concat(parts, ignore_index=True)
    res = discover.fit(df, target="loss", features=["params", "tokens"], laws=["hoffmann2022", "kaplan2020_n"],
                       split="largest:params:0.2", bootstrap=0, **CURVE)
    sel = res.to_dict()["selection"]
    assert sel["standard_errors"].startswith("Newey-West")
    assert res.best.name == "hoffmann2022" and res.best_scored.metrics["test"]["r2"] > 0.99
    # along one run the excess moves with the step: its standard error is the HAC one, not the rows'
    a, b = {"val": 1.0 + 0.2 * np.sin(np.linspace(0, 3, 50)) + 0.01 * rng.standard_normal(50)}, {"val": np.ones(50)}
    d = a["val"] ** 2 - 1.0
    se = paired_test(a, b, clusters={"val": np.repeat("r", 50)})[1]
    assert se == pytest.approx(newey_west_se(d), rel=1e-12) and se > 1.5 * d.std(ddof=1) / math.sqrt(50)
