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
