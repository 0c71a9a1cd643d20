"""Equivalence of law forms: the check that scores recovery in the synthetic suite."""

import numpy as np
import pytest

from discover import canon
from discover.law import Law

N = np.geomspace(1e6, 1e10, 30)
X = {"params": N}


@pytest.fixture
def truth():
    return Law.from_formula("E + A/params**a", ["params"]).with_constants({"E": 1.8, "A": 400.0, "a": 0.33})


def test_a_reparametrised_form_is_the_same_form(truth):
    assert canon.equivalent(truth, Law.from_formula("E + (c/params)**a", ["params"]), X)


def test_a_different_form_is_not(truth):
    assert not canon.equivalent(truth, Law.from_formula("E + A*exp(-a*log(params)**2)", ["params"]), X)


def test_a_bigger_form_found_with_a_real_extra_term_is_not_the_true_form(truth):
    # refit to the true curve, the extra 1/params term would vanish; as found it does not
    found = Law.from_formula("E + c1/params + c2/params**a2", ["params"]).with_constants(
        {"E": 1.8, "c1": 3e6, "c2": 300.0, "a2": 0.32})
    assert not canon.equivalent(truth, found, X)


def test_a_bigger_form_whose_extra_term_does_not_matter_counts_as_the_true_form(truth):
    found = Law.from_formula("E + c1/params + c2/params**a2", ["params"]).with_constants(
        {"E": 1.8, "c1": 1e-3, "c2": 400.0, "a2": 0.33})
    assert canon.equivalent(truth, found, X)


def test_the_same_skeleton_is_equivalent_without_fitting(truth):
    assert canon.equivalent(truth, Law.from_formula("F + B/params**b", ["params"]), X)


def test_a_declared_feature_the_formula_does_not_use_does_not_count():
    """The mixing truth is written over the first two shares of three (the third closes the simplex):
    a law found over the same two is the same form, though the truth lists all three features."""
    r = np.random.default_rng(0).dirichlet([1, 1, 1], 40)
    Xm = {"params": np.repeat(np.geomspace(1e7, 1e9, 8), 5), "p_web": r[:, 0], "p_code": r[:, 1], "p_books": r[:, 2]}
    truth = Law.from_formula("E + A/params**alpha + k*exp(-t1*p_web - t2*p_code)",
                             ["params", "p_web", "p_code", "p_books"]).with_constants(
        {"E": 1.8, "A": 406.4, "alpha": 0.34, "k": 0.6, "t1": 1.5, "t2": 0.8})
    found = Law.from_formula("E + c1*exp(-a1*p_web - b1*p_code) + c2/params**a2", ["params", "p_web", "p_code"])
    assert canon.equivalent(truth, found, Xm)
    fewer = Law.from_formula("E + c1*exp(-a1*p_web) + c2/params**a2", ["params", "p_web", "p_code", "p_books"])
    assert not canon.equivalent(truth, fewer, Xm)
