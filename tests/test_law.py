import numpy as np
import pytest

from discover.errors import DataError
from discover.law import Law, Param


def test_constants_are_free_symbols_that_are_not_variables():
    law = Law.from_formula("E + A/N**alpha", ["N"])
    assert set(law.params) == {"E", "A", "alpha"}
    # an exponent gets exponent-like bounds and a grid of starts
    assert law.params["alpha"].upper == 10 and len(law.params["alpha"].starts()) > 1
    assert law.complexity > 5
    assert "alpha" in law.latex


def test_predict_bind_and_round_trip():
    law = Law.from_formula("E + A/N**alpha + B/D**beta", ["N", "D"],
                           published=dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28))
    bound = law.bind({"N": "params", "D": "tokens"})
    assert bound.variables == ("params", "tokens")
    fitted = bound.with_constants(bound.published)
    y = fitted.predict({"params": np.array([7e10]), "tokens": np.array([1.4e12])})
    assert y[0] == pytest.approx(1.69 + 406.4 / 7e10**0.34 + 410.7 / 1.4e12**0.28)
    back = Law.from_dict(fitted.to_dict())
    assert back.formula == fitted.formula and back.constants == pytest.approx(fitted.constants)


def test_per_group_constants_are_looked_up():
    law = Law.from_formula("A*x", ["x"]).with_constants({"a": {"A": 1.0}, "b": {"A": 2.0}}, group="g")
    out = law.predict({"x": np.array([1.0, 1.0])}, groups=np.array(["a", "b"]))
    assert list(out) == [1.0, 2.0]
    with pytest.raises(DataError, match="not seen"):
        law.predict({"x": np.array([1.0])}, groups=np.array(["c"]))


def test_bad_param_bounds():
    with pytest.raises(DataError):
        Param("a", lower=2, upper=1)


def test_a_law_that_was_used_can_be_pickled():
    import pickle

    law = Law.from_formula("A*x**b", ["x"]).with_constants({"A": 2.0, "b": 0.5})
    law.predict({"x": np.array([4.0])})  # compiles and caches the function
    back = pickle.loads(pickle.dumps(law))
    assert back.predict({"x": np.array([4.0])})[0] == 4.0


def test_a_sharp_break_past_its_break_point_evaluates_without_overflow():
    """(1 + (x/d)**(1/f))**(c*f) with f = 0.0027 overflows 1e308 a decade past d, though the
    factor is about (x/d)**c there: laws (and the fitter) evaluate it in logs."""
    from discover import catalog

    law = catalog.bind("caballero2022", ["x"])
    vals = {"a": 0.5, "b": 2.0, "c0": 1e-6, "c1": -0.025, "d1": 1.19e10, "f1": 0.0027}
    x = np.array([1e9, 1e10, 1e11, 1e12])
    got = law.evaluate({"x": x}, vals)
    expected = 0.5 + 2.0 * x**-1e-6 * np.maximum(1.0, x / 1.19e10) ** 0.025  # the two asymptotes
    assert np.all(np.isfinite(got)) and np.allclose(got, expected, rtol=1e-6)
    # an integer power keeps its plain form (its base may be negative)
    sq = Law.from_formula("(1 + (x - c)**2)**2", ["x"])
    assert np.allclose(sq.evaluate({"x": np.array([-1.0, 3.0])}, {"c": 1.0}), [25.0, 25.0])
