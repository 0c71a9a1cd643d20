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
