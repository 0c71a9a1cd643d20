import numpy as np
import pandas as pd
import pytest

from discover import catalog
from discover.fitting import fit_law
from discover.law import Law, Param


def chinchilla_law():
    return catalog.bind(catalog.get("hoffmann2022"), ["params", "tokens"])


def test_reproduces_epochs_refit(chinchilla_csv):
    """Besiroglu et al. 2024 refit the Chinchilla form on 240 runs (5 highest losses
    dropped) with Huber delta 1e-3 on log residuals."""
    df = pd.read_csv(chinchilla_csv).sort_values("loss").iloc[:-5]
    assert len(df) == 240
    res = fit_law(chinchilla_law(), {"params": df.params.values, "tokens": df.tokens.values}, df.loss.values,
                  delta=1e-3)
    c = res.law.constants
    assert res.converged
    assert c["E"] == pytest.approx(1.817, rel=0.02)
    assert c["alpha"] == pytest.approx(0.348, rel=0.02)
    assert c["beta"] == pytest.approx(0.366, rel=0.02)
    assert c["A"] == pytest.approx(482.0, rel=0.10)
    assert c["B"] == pytest.approx(2085.4, rel=0.10)


def synthetic_chinchilla(noise=0.01, seed=0, n=800):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(6, 11, n)
    D = 10 ** rng.uniform(7, 12, n)
    true = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    y = (true["E"] + true["A"] / N ** true["alpha"] + true["B"] / D ** true["beta"]) * np.exp(rng.normal(0, noise, n))
    return {"params": N, "tokens": D}, y, true


def test_recovers_known_constants_at_one_percent_noise():
    X, y, true = synthetic_chinchilla()
    res = fit_law(chinchilla_law(), X, y)
    for k, v in true.items():
        assert res.law.constants[k] == pytest.approx(v, rel=0.05), k


def test_bootstrap_intervals_cover_the_truth_and_are_deterministic():
    X, y, true = synthetic_chinchilla(seed=1)
    a = fit_law(chinchilla_law(), X, y, bootstrap=30, seed=3)
    b = fit_law(chinchilla_law(), X, y, bootstrap=30, seed=3)
    assert a.intervals == b.intervals
    for k in ("alpha", "beta", "E"):  # the true constants the table was drawn from
        lo, hi = a.intervals[k]
        assert lo < true[k] < hi, (k, lo, true[k], hi)
    assert len(a.samples["alpha"]) == 30


def test_raw_residuals_for_negative_targets():
    x = np.linspace(1, 100, 80)
    y = -3.0 + 2.0 * x ** -0.5
    law = Law.from_formula("E + A*x**(-a)", ["x"])
    res = fit_law(law, {"x": x}, y)
    assert res.law.constants["E"] == pytest.approx(-3.0, abs=1e-6)
    assert res.law.constants["a"] == pytest.approx(0.5, rel=1e-4)


def test_per_group_with_shared_exponent():
    rng = np.random.default_rng(0)
    x = np.tile(np.logspace(2, 6, 12), 3)
    g = np.repeat(["a", "b", "c"], 12)
    E = {"a": 1.0, "b": 1.5, "c": 2.0}
    y = np.array([E[k] for k in g]) + 5.0 * x ** -0.4
    y = y * np.exp(rng.normal(0, 0.002, len(y)))
    law = Law.from_formula("E + A*x**(-a)", ["x"])
    res = fit_law(law, {"x": x}, y, groups=g, shared=["a"], group_name="g")
    c = res.law.constants
    assert c["a"]["a"] == c["b"]["a"] == c["c"]["a"] == pytest.approx(0.4, rel=0.05)
    assert c["c"]["E"] == pytest.approx(2.0, rel=0.02)
    assert res.law.grouped and res.law.shared == ("a",)


def test_non_convergent_fit_is_flagged_not_raised():
    x = np.linspace(1, 10, 20)
    y = np.exp(np.sin(x))  # nothing like the law
    law = Law.from_formula("A*exp(b*x**c)", ["x"])
    res = fit_law(law, {"x": x}, y)
    assert res.law.constants is None or np.isfinite(res.objective)


def test_many_rows_are_screened_on_a_subsample_and_polished_on_all(monkeypatch):
    """Above SUBSAMPLE_ROWS the multi-start runs on a subsample; the answer is the full-data optimum."""
    from discover.fitting import solver

    rng = np.random.default_rng(1)
    n = 3000
    N, D = 10 ** rng.uniform(7, 10, n), 10 ** rng.uniform(9, 12, n)
    y = (1.7 + 400 / N**0.34 + 2000 / D**0.28) * np.exp(rng.normal(0, 0.01, n))
    law = Law.from_formula("E + A/N**a + B/D**b", ["N", "D"])
    full = fit_law(law, {"N": N, "D": D}, y)
    seen = []
    original = solver.Fitter.stage1

    def spy(self, start):
        seen.append(self.d.n)
        return original(self, start)

    monkeypatch.setattr(solver, "SUBSAMPLE_ROWS", 500)
    monkeypatch.setattr(solver.Fitter, "stage1", spy)
    sub = fit_law(law, {"N": N, "D": D}, y)
    assert seen and set(seen) == {500}  # every stage-1 refinement ran on the subsample
    for k, v in full.law.constants.items():
        assert sub.law.constants[k] == pytest.approx(v, rel=1e-4)


@pytest.mark.parametrize("how", ["multi-start", "projected", "warm"])
def test_shared_constants_get_bootstrap_intervals_on_every_path(how):
    """A grouped law with a shared exponent has per-group intervals whichever way its fit starts."""
    rng = np.random.default_rng(1)
    x = np.tile(np.logspace(2, 6, 12), 3)
    g = np.repeat(["a", "b", "c"], 12)
    y = np.array([{"a": 1.0, "b": 1.5, "c": 2.0}[k] for k in g]) + 5.0 * x ** -0.4
    y = y * np.exp(rng.normal(0, 0.002, len(y)))
    law = Law.from_formula("E + A*x**(-a)", ["x"])
    first = fit_law(law, {"x": x}, y, groups=g, shared=["a"], group_name="g")
    kw = {"projected": dict(starts=[{"a": 0.3}]), "warm": dict(warm=first.law.constants)}.get(how, {})
    res = fit_law(law, {"x": x}, y, groups=g, shared=["a"], group_name="g", bootstrap=8, **kw)
    assert set(res.intervals) == {"a", "b", "c"}
    lo, hi = res.intervals["b"]["a"]
    assert lo <= res.law.constants["b"]["a"] <= hi


def test_a_break_point_is_started_where_the_data_is():
    """A broken power law's break (1e8 parameters) is far from the default start of 1: the
    fitter also starts such scale constants at quantiles of the variable they divide."""
    N = np.geomspace(1e6, 1e9, 30)  # the break a decade below the largest run
    bpl = "E + c/(params**a*(1 + (params/b)**(1/h))**(g*h))"
    truth = Law.from_formula(bpl, ["params"]).with_constants({"E": 1.7, "c": 10.0, "a": 0.1, "b": 1e8, "h": 0.5, "g": 0.25})
    y = truth.predict({"params": N}) * np.exp(np.random.default_rng(0).normal(0, 0.002, N.size))
    res = fit_law(Law.from_formula(bpl, ["params"]), {"params": N}, y)
    pred = res.law.predict({"params": N})
    assert np.sqrt(np.mean(np.log(pred / y) ** 2)) < 0.003  # noise 0.002; from a start of 1 only: 0.0069
    assert 5e7 < res.law.constants["b"] < 3e8


def test_a_warm_start_that_overflows_on_one_group_gets_a_full_refit():
    """A warm start carried from a fit on fewer rows can overflow on the rows it was not fitted on
    (a broken power law with a near-zero sharpness past its break); that group is refit from the
    grid instead of sinking the whole grouped law with non-finite predictions."""
    law = Law.from_formula("E + b/(x**c0*(1 + (x/d1)**(1/f1))**(c1*f1))", ["x"], name="bnsl",
                           params={"f1": Param("f1", 1e-3, 100.0, init=(0.5,)),
                                   "d1": Param("d1", 1e-3, 1e12, init=(10.0, 1e3), log_scale=True)})
    x = np.tile(np.geomspace(1.0, 1e4, 30), 2)
    g = np.repeat(["a", "b"], 30)
    y = 1.0 + 5.0 / x**0.3
    good = {"E": 1.0, "b": 5.0, "c0": 0.3, "c1": 0.0, "d1": 100.0, "f1": 1.0}
    bad = {"E": 1.0, "b": 5.0, "c0": 0.3, "c1": -0.1, "d1": 0.01, "f1": 0.001}  # (x/d1)**1000 overflows
    res = fit_law(law, {"x": x}, y, groups=g, group_name="g", warm={"a": good, "b": bad})
    for grp in ("a", "b"):
        pred = res.law.predict({"x": x[g == grp]}, groups=g[g == grp])
        assert np.all(np.isfinite(pred)) and np.max(np.abs(np.log(pred / y[g == grp]))) < 1e-3
