"""Laws a researcher would publish: constants named by role, degenerate fits flagged, one entry per
function, simplified neighbours refit, and exports that reproduce the fitted law."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sympy

import discover
from discover import canon
from discover.candidate import Candidate
from discover.flags import fit_flags
from discover.law import Law
from discover.naming import readable, roles

N = np.geomspace(1e7, 1e10, 12)
D = np.geomspace(1e9, 1e12, 12)


def engine_law(formula, variables, start):
    law = Law.from_formula(formula, variables, provenance="engine: grammar, seed 0")
    return Candidate(law, start=start)


def test_constants_are_named_by_what_they_do():
    cand = engine_law("E + c1/tokens**a1 + c2*(1 + b2/params**g2)/(b3 + params)**a2", ["params", "tokens"],
                      {"E": 1.7, "c1": 400.0, "a1": 0.3, "c2": 300.0, "b2": 2.0, "g2": 0.2, "b3": 1e6, "a2": 0.35})
    r = roles(cand.law)
    assert r["E"] == "floor" and r["c1"] == r["c2"] == "coefficient" and r["a1"] == r["a2"] == r["g2"] == "exponent"
    assert r["b3"] == "scale"
    named = readable(cand).law
    assert named.formula == "E + A/tokens**alpha + B*(1 + C/params**beta)/(s1 + params)**gamma"
    assert named.name == named.formula


def test_a_negative_exponent_is_flipped_into_the_published_sign():
    cand = engine_law("A*params**c1", ["params"], {"A": 2.0, "c1": -0.3})
    out = readable(cand)
    assert out.law.formula == "A/params**alpha" and out.start == {"A": 2.0, "alpha": 0.3}
    p = out.law.params["alpha"]
    assert (p.lower, p.upper) == (-cand.law.params["c1"].upper, -cand.law.params["c1"].lower)
    x = {"params": N}  # the same function: the flip is exact
    np.testing.assert_allclose(out.law.evaluate(x, out.start), cand.law.evaluate(x, cand.start), rtol=1e-12)


def test_names_a_variable_uses_are_skipped_and_catalog_laws_keep_theirs():
    cand = engine_law("c0 + c1/alpha**a1", ["alpha"], {"c0": 1.0, "c1": 2.0, "a1": 0.5})
    assert readable(cand).law.formula == "E + A/alpha**beta"
    published = discover.catalog.get("hoffmann2022")
    assert readable(Candidate(published)).law is published


def test_degenerate_fits_are_flagged_by_kind():
    law = Law.from_formula("E + A/params**a + B/tokens**b", ["params", "tokens"],
                           params={"a": {"lower": 0.0, "upper": 3.0}, "b": {"lower": 0.0, "upper": 3.0}})
    X = {"params": N, "tokens": D}
    assert fit_flags(law, {"E": 1.7, "A": 400.0, "B": 400.0, "a": 0.34, "b": 0.28}, X, positive_target=True) == []
    flags = fit_flags(law, {"E": -0.5, "A": 1e-40, "B": 400.0, "a": 2.999, "b": 0.28}, X, positive_target=True)
    assert any(f.startswith("at bound: a") for f in flags)
    assert any(f.startswith("negligible coefficient: A") for f in flags)
    assert any(f.startswith("negative floor: E") for f in flags)
    assert fit_flags(law, {"E": -0.5, "A": 400.0, "B": 400.0, "a": 0.3, "b": 0.3}, X, positive_target=False) == []
    cancel = Law.from_formula("E + A/params**a", ["params"])
    flags = fit_flags(cancel, {"E": -7204.0, "A": 7206.0 * 1e7**0.001, "a": 0.001}, X, positive_target=True)
    assert "cancelling terms" in flags and any(f.startswith("negative floor") for f in flags)
    assert "cancelling terms" not in fit_flags(cancel, {"E": 1.7, "A": 400.0, "a": 0.3}, X, positive_target=True)


def _table(seed: int = 0):
    rng = np.random.default_rng(seed)  # a fresh generator: the table is the same whichever test asks first
    n, d = np.meshgrid(np.geomspace(1e7, 3e9, 7), np.geomspace(1e9, 3e11, 6))
    y = (1.7 + 400 / n**0.34 + 400 / d**0.28) * np.exp(rng.normal(0, 0.005, n.shape))
    return pd.DataFrame({"params": n.ravel(), "tokens": d.ravel(), "loss": y.ravel()})


def test_two_laws_that_are_one_function_are_one_entry():
    frame = _table()
    res = discover.fit(frame, target="loss", features=["params", "tokens"], split="compute:0.2", bootstrap=0,
                       laws=["hoffmann2022", "E + A/params**a + B/tokens**b", "E + A*C/params**a + B/tokens**b"])
    names = [s.law.name for s in res.laws]
    assert names == ["hoffmann2022"]  # the catalog law, with fewest constants, keeps the entry
    assert set(res.laws[0].also) == {"E + A/params**a + B/tokens**b", "E + A*C/params**a + B/tokens**b"}


def test_simpler_neighbours_drop_a_term_or_fix_a_redundant_constant():
    law = Law.from_formula("E + A*C/params**a + B/tokens**b", ["params", "tokens"], provenance="engine: x")
    found = {v.formula: v for v in canon.simpler_neighbours(law, redundant=["C"])}
    assert "E + B/tokens**b" in found and "E + A*C/params**a" in found
    fixed = [v for v in found.values() if "C fixed to 1" in v.provenance]
    assert len(fixed) == 1 and "C" not in fixed[0].params and "refit" in fixed[0].provenance
    assert all(v.variables == tuple(sorted(set(v.variables), key=v.variables.index)) for v in found.values())
    assert found["E + B/tokens**b"].variables == ("tokens",)


def test_to_python_text_run_by_the_test_reproduces_predict():
    frame = _table()
    res = discover.fit(frame, target="loss", features=["params", "tokens"], bootstrap=0,
                       laws=["hoffmann2022", "caballero2022", "kaplan2020"])
    X = {"params": frame.params.to_numpy(), "tokens": frame.tokens.to_numpy()}
    for s in res.laws:
        namespace: dict = {}
        exec(s.law.to_python("f"), namespace)  # the test's own execution of the exported text
        got = namespace["f"](*[X[v] for v in s.law.variables])
        np.testing.assert_allclose(got, s.law.predict(X), rtol=1e-10, err_msg=s.law.name)
        for v in s.law.variables:  # word-named variables print upright, with or without the values
            assert rf"\mathrm{{{v}}}" in s.law.to_latex() and rf"\mathrm{{{v}}}" in s.law.to_latex(values=True)
        value = s.law.to_sympy(values=True).subs({sympy.Symbol(v, positive=True): X[v][0] for v in s.law.variables})
        assert float(value) == pytest.approx(float(s.law.predict(X)[0]), rel=1e-9)


def test_grouped_to_python_takes_the_group():
    rng = np.random.default_rng(1)
    x = np.tile(np.geomspace(10, 1e4, 10), 2)
    g = np.repeat(["a", "b"], 10)
    y = np.where(g == "a", 2.0, 3.0) + 5 / x**0.4 + rng.normal(0, 1e-3, 20)
    res = discover.fit(pd.DataFrame({"x": x, "g": g, "y": y}), target="y", features=["x"], group="g",
                       laws=["E + A/x**a"], bootstrap=0)
    law = res.best
    namespace: dict = {}
    exec(law.to_python(), namespace)
    for label in ("a", "b"):
        np.testing.assert_allclose(namespace["law"](x[:3], label), law.predict({"x": x[:3]}, groups=[label] * 3),
                                   rtol=1e-10)


def test_to_python_computes_what_predict_computes_past_a_sharp_break_and_per_row_groups():
    law = Law.from_formula("A*(1 + (x/d)**(1/f))**(-c*f)", ["x"]).with_constants({"A": 1.0, "d": 1e3, "f": 0.01,
                                                                                  "c": 0.3})
    x = np.array([10.0, 1e3, 1e7])  # at 1e7 the raw form overflows: (1e4)**100
    namespace: dict = {}
    exec(law.to_python(), namespace)
    np.testing.assert_allclose(namespace["law"](x), law.predict({"x": x}), rtol=1e-10)
    assert np.isfinite(law.predict({"x": x})).all() and law.predict({"x": x})[-1] > 0
    # a grouped law takes one label per row, and a variable called group does not clash
    grouped = Law.from_formula("E + A/group**a", ["group"]).with_constants(
        {"a": {"E": 1.0, "A": 2.0, "a": 0.5}, "b": {"E": 3.0, "A": 1.0, "a": 0.2}}, group="g")
    namespace = {}
    exec(grouped.to_python(), namespace)
    g = np.array(["a", "b", "b"])
    xs = np.array([4.0, 9.0, 16.0])
    np.testing.assert_allclose(namespace["law"](xs, g), grouped.predict({"group": xs}, groups=g), rtol=1e-12)


def test_a_log_scale_constant_far_inside_its_range_is_not_at_its_bound():
    kaplan = discover.catalog.get("kaplan2020")
    X = {v: np.geomspace(1e7, 1e10, 5) for v in kaplan.variables}
    published = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}
    assert fit_flags(kaplan, published, X, positive_target=True) == []
    near = Law.from_formula("A*(x/s)**a", ["x"], params={"s": {"lower": 1e-3, "upper": 1e4, "log_scale": True}})
    flags = fit_flags(near, {"A": 1.0, "s": 9.9e3, "a": 0.3}, {"x": np.geomspace(1, 10, 5)}, positive_target=True)
    assert flags == ["at bound: s"]


def test_every_law_of_a_real_run_reads_back_as_the_function_that_was_fitted(tmp_path):
    """The written form of each law (results.json: formula and constants, read by the safe parser)
    predicts what the fitted law predicts, to 1e-6; a law changed by simplification says it was refit."""
    frame = _table()
    res = discover.discover(frame, target="loss", features=["params", "tokens"], split="compute:0.2",
                            time_budget=20, max_forms=60, bootstrap=0)
    back = discover.Result.from_json(res.to_json(tmp_path / "results.json"))
    X = {"params": frame.params.to_numpy(), "tokens": frame.tokens.to_numpy()}
    assert len(back.laws) == len(res.laws) > 5
    for s, b in zip(res.laws, back.laws):
        if not s.ok:
            continue
        np.testing.assert_allclose(b.law.predict(X), s.law.predict(X), rtol=1e-6, err_msg=s.law.name)
        if "simplified" in s.law.provenance:
            assert "refit" in s.law.provenance
    assert any(s.law.provenance.startswith("engine") and math.isfinite(s.error("test", True)) for s in res.laws)


def test_max_constants_bounds_every_candidate():
    frame = _table()
    res = discover.discover(frame, target="loss", features=["params", "tokens"], split="compute:0.2",
                            time_budget=10, max_forms=40, bootstrap=0, max_constants=3)
    assert res.laws and all(s.law.n_constants <= 3 for s in res.laws)
    assert any("max_constants" in w for w in res.warnings)  # the catalog's 5-constant laws were left out
    with pytest.raises(discover.DataError, match="max_constants must be >= 1"):
        discover.discover(frame, target="loss", features=["params", "tokens"], max_constants=0)


def test_a_law_named_by_its_formula_keeps_following_it_and_keeps_its_engine_suffix():
    import dataclasses

    from discover.formula import to_text
    law = Law.from_formula("c0 + c1*N**a1*D**a1", ["N", "D"])
    law = dataclasses.replace(law, name=to_text(law.expr))
    simple = canon.simplify_law(law)
    assert simple.formula != law.formula and simple.name == simple.formula  # not the stale text
    per_group = dataclasses.replace(simple, name=simple.formula + " [per group]")
    named = readable(Candidate(per_group)).law
    assert named.name.endswith(" [per group]") and named.name[: -len(" [per group]")] == named.formula


def test_an_exponent_fitted_next_to_a_round_value_is_offered_fixed_to_it():
    law = Law.from_formula("E + A/params**a + B*tokens**b", ["params", "tokens"], provenance="engine: x")
    values = {"E": 1.7, "A": 400.0, "a": 0.995, "B": 400.0, "b": -0.28}
    found = {v.formula: v for v in canon.simpler_neighbours(law, values=values)}
    rounded = [v for v in found.values() if "fixed to" in v.provenance]
    assert [v.formula for v in rounded] == ["E + A/params + B*tokens**b"]
    assert "a = 0.995 fixed to 1" in rounded[0].provenance and "refit" in rounded[0].provenance
    assert "a" not in rounded[0].params
    # a negative exponent near -0.5 is fixed to -0.5, not +0.5
    flipped = canon.simpler_neighbours(law, values={**values, "a": 0.3, "b": -0.51})
    assert [v.formula for v in flipped if "fixed to" in v.provenance] == ["E + A/params**a + B/sqrt(tokens)"]


def test_a_term_that_does_nothing_on_the_table_is_flagged_in_any_units():
    law = Law.from_formula("E + A/params**a + B/tokens**b", ["params", "tokens"])
    X = {"params": N, "tokens": D}
    # B/tokens**b is 1e-12 of the loss on every row (B = 1e-3 is no tiny number)
    flags = fit_flags(law, {"E": 1.7, "A": 400.0, "a": 0.34, "B": 1e-3, "b": 3.0}, X, positive_target=True)
    assert any(f.startswith("term does nothing on the table: B/tokens**b") for f in flags), flags
    assert not any("does nothing" in f for f in fit_flags(law, {"E": 1.7, "A": 400.0, "a": 0.34, "B": 400.0,
                                                                "b": 0.28}, X, positive_target=True))


def test_a_law_that_falls_to_zero_as_a_scale_grows_is_flagged():
    """E + B log N (B < 0) fits a ladder and forecasts a negative loss far enough out; a decaying
    power towards a positive floor never does. Only scales are followed (not a learning rate, not
    a log-scale column), and only on a positive target."""
    X = {"params": N, "tokens": D, "lr": np.geomspace(1e-4, 1e-2, len(N))}
    log_law = Law.from_formula("E + B*log(params) + C/tokens**b", ["params", "tokens"])
    flags = fit_flags(log_law, {"E": 4.0, "B": -0.05, "C": 400.0, "b": 0.28}, X, positive_target=True)
    assert "forecasts below zero as a scale grows: params" in flags
    assert not any("as a scale grows" in f for f in fit_flags(log_law, {"E": 4.0, "B": -0.05, "C": 400.0, "b": 0.28},
                                                               X, positive_target=False))
    power = Law.from_formula("E + A/params**a + B/tokens**b", ["params", "tokens"])
    assert fit_flags(power, {"E": 1.7, "A": 400.0, "B": 400.0, "a": 0.34, "b": 0.28}, X, positive_target=True) == []
    # the same log slope in a learning rate, and in a log-scale column, is not followed
    lr_law = Law.from_formula("E + B*log(lr) + C/tokens**b", ["lr", "tokens"])
    assert fit_flags(lr_law, {"E": 4.0, "B": -0.05, "C": 400.0, "b": 0.28}, X, positive_target=True) == []
    log_axis = Law.from_formula("E - B*log_flops", ["log_flops"])
    assert fit_flags(log_axis, {"E": 4.0, "B": 0.1}, {"log_flops": np.linspace(18, 22, 8)}, positive_target=True) == []
    # a steep power law underflows to 0.0 far out: that is not a forecast below zero
    steep = Law.from_formula("A/params**a", ["params"])
    assert fit_flags(steep, {"A": 1e30, "a": 3.0}, X, positive_target=True) == []
    # a negative floor below what the other term adds at its median crosses zero (-0.2 does not)
    assert not any("as a scale grows" in f for f in fit_flags(power, {"E": -0.2, "A": 400.0, "B": 400.0, "a": 0.34,
                                                                      "b": 0.28}, X, positive_target=True))
    floor = fit_flags(power, {"E": -1.0, "A": 400.0, "B": 400.0, "a": 0.34, "b": 0.28}, X, positive_target=True)
    assert "forecasts below zero as a scale grows: params, tokens" in floor
    # per group: one group whose own constants cross zero flags the law
    groups = np.array(["a", "b"] * (len(N) // 2))
    per_group = {"a": {"E": 4.0, "B": 0.05, "C": 400.0, "b": 0.28}, "b": {"E": 4.0, "B": -0.05, "C": 400.0, "b": 0.28}}
    flags = fit_flags(log_law, per_group, X, positive_target=True, groups=groups)
    assert "forecasts below zero as a scale grows: params" in flags
    per_group["b"]["B"] = 0.05
    assert fit_flags(log_law, per_group, X, positive_target=True, groups=groups) == []
