"""LawRegressor: the pipeline as a scikit-learn estimator (fit/predict/score, clone, CV)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

import discover
from discover import DataError, LawRegressor


def runs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 12, n)
    y = (1.69 + 406.4 / N**0.34 + 410.7 / D**0.28) * np.exp(rng.normal(0, 0.005, n))
    return pd.DataFrame({"params": N, "tokens": D}), y


def test_fixed_law_fits_predicts_and_scores():
    X, y = runs()
    est = LawRegressor(law="E + A/params**alpha + B/tokens**beta").fit(X, y)
    assert est.law_.constants["alpha"] == pytest.approx(0.34, abs=0.05)
    assert list(est.feature_names_in_) == ["params", "tokens"] and est.n_features_in_ == 2
    assert est.predict(X).shape == (len(X),)
    assert est.score(X, y) > 0.99


def test_get_params_and_clone_keep_the_arguments():
    est = LawRegressor(law="hoffmann2022", time_budget=5.0, split="compute:0.2")
    assert est.get_params()["law"] == "hoffmann2022" and est.get_params()["split"] == "compute:0.2"
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "law_")


def test_cross_validation_refits_on_each_fold():
    X, y = runs()
    scores = cross_val_score(LawRegressor(law="E + A/params**alpha + B/tokens**beta"), X, y, cv=3)
    assert len(scores) == 3 and np.all(scores > 0.95)


def test_search_when_no_law_is_given():
    X, y = runs(80)
    est = LawRegressor(time_budget=3.0, split="compute:0.2").fit(X, y)
    assert isinstance(est.law_, discover.Law) and est.law_.constants is not None
    assert est.result_.leaderboard is not None
    assert est.score(X, y) > 0.95


def test_arrays_get_x0_x1_names_and_bad_input_is_a_data_error():
    X, y = runs(60)
    est = LawRegressor(law="c + a*x0**(-b)").fit(X.to_numpy()[:, :1], y)
    assert list(est.feature_names_in_) == ["x0"]
    with pytest.raises(DataError, match="rows"):
        LawRegressor(law="c + a*x0**(-b)").fit(X.to_numpy()[:, :1], y[:-1])
    with pytest.raises(DataError, match="lacks"):
        est.predict(pd.DataFrame({"other": [1.0]}))
    with pytest.raises(DataError, match="group column"):
        LawRegressor(law="c + a*x0**(-b)", group="g").fit(X.to_numpy()[:, :1], y)


def test_group_column_gives_per_group_constants():
    rng = np.random.default_rng(2)
    n = np.tile(np.geomspace(1e3, 1e6, 20), 2)
    g = np.repeat(["a", "b"], 20)
    y = np.where(g == "a", 2.0, 3.0) + 50 / n**0.4 * np.exp(rng.normal(0, 0.002, 40))
    X = pd.DataFrame({"size": n, "g": g})
    est = LawRegressor(law="c + a*size**(-b)", group="g").fit(X, y)
    assert list(est.feature_names_in_) == ["size"]
    assert est.law_.constants["a"]["c"] == pytest.approx(2.0, abs=0.05)
    assert est.law_.constants["b"]["c"] == pytest.approx(3.0, abs=0.05)
    assert est.score(X, y) > 0.99
