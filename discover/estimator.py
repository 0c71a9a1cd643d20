"""``LawRegressor``: the search pipeline as a scikit-learn estimator.

Why an estimator at all: researchers already cross-validate, grid-search and
pipeline with scikit-learn. ``LawRegressor`` is a thin shell over
:func:`discover.fit` (a fixed law) and :func:`discover.discover` (a search):
``fit`` runs one of them on the rows it is given and keeps the recommended law,
``predict`` evaluates it, ``score`` is R² (scikit-learn's regressor default).
Every hyperparameter is an explicit constructor argument stored as given, so
``get_params``/``set_params``/``clone`` work and a grid search can vary, say,
the time budget or the law.

Columns: a DataFrame keeps its column names (they must be the names the law
uses, e.g. ``params``, ``tokens``); a plain array gets ``x0, x1, ...``.
With ``group``, that column of X holds the group labels and is not a feature.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .data import group_parts
from .errors import DataError
from .options import FitOptions, SearchOptions, TableSpec
from .pipeline import run_fit
from .search import run_search

_TARGET = "target"
_WEIGHT = "sample_weight"


class LawRegressor(RegressorMixin, BaseEstimator):
    """Fit a scaling law (given, or searched for) as a scikit-learn regressor.

    Parameters
    ----------
    law : str, Law or None
        A catalog name, a formula or a :class:`discover.Law` to fit; None searches
        for one with ``engines`` (catalog laws compete unless ``catalog=False``).
    engines : sequence of str
        Search engines when ``law`` is None.
    time_budget : float
        Seconds of search when ``law`` is None.
    split : str or None
        How the rows given to ``fit`` are split to choose among candidates (e.g.
        ``"compute:0.2"``); None fits on every row and chooses by BIC.
    group : str, list of str or None
        Column of X with group labels (or several: one group per combination): constants are fitted
        per group.
    catalog, seed, bootstrap, delta, shared
        As in :func:`discover.discover` / :func:`discover.fit`.

    Attributes
    ----------
    law_ : Law
        The recommended law with its fitted constants.
    result_ : Result
        The whole ranked result (leaderboard, Pareto front, metrics).
    feature_names_in_ : ndarray of str
        The feature columns seen in ``fit``, in order.
    """

    def __init__(self, law=None, *, engines: Sequence[str] = ("grammar",), time_budget: float = 60.0,
                 split: str | None = None, group: str | None = None, catalog: bool = True, seed: int = 0,
                 bootstrap: int = 0, delta: float | None = None, shared: Sequence[str] = ()):
        self.law = law
        self.engines = engines
        self.time_budget = time_budget
        self.split = split
        self.group = group
        self.catalog = catalog
        self.seed = seed
        self.bootstrap = bootstrap
        self.delta = delta
        self.shared = shared

    def fit(self, X, y, sample_weight=None):
        frame = _frame(X)
        parts = group_parts(self.group, frame.columns)
        features = [c for c in frame.columns if c not in parts]
        for col in parts:
            if col not in frame.columns:
                raise DataError(f"group column {col!r} is not among the columns of X")
        if not features:
            raise DataError("X has no feature columns")
        for reserved in (_TARGET, _WEIGHT):
            if reserved in frame.columns:
                raise DataError(f"X must not have a column named {reserved!r} (LawRegressor uses it for y)")
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(frame):
            raise DataError(f"X has {len(frame)} rows but y has {len(y)}")
        frame = frame.copy()
        frame[_TARGET] = y
        weight = None
        if sample_weight is not None:
            frame[_WEIGHT] = np.asarray(sample_weight, dtype=float).ravel()
            weight = _WEIGHT
        table = TableSpec(target=_TARGET, features=features, group=self.group, weight=weight, split=self.split)
        options = FitOptions(seed=self.seed, delta=self.delta, bootstrap=self.bootstrap, shared=self.shared)
        if self.law is not None:
            res = run_fit(frame, table, options, laws=[self.law])
        else:
            search = SearchOptions(engines=self.engines, time_budget=self.time_budget, catalog=self.catalog)
            res = run_search(frame, table, options, search, handle_signals=False)
        self.result_ = res
        self.law_ = res.best
        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_features_in_ = len(features)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "law_")
        frame = _frame(X)
        missing = [c for c in self.feature_names_in_ if c not in frame.columns]
        if missing:
            raise DataError(f"X lacks the feature columns {missing} the law was fitted on")
        return np.asarray(self.result_.predict(frame), dtype=float)


def _frame(X) -> pd.DataFrame:
    """X as a DataFrame: its own column names, or x0, x1, ... for an array."""
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DataError(f"X must be 2-dimensional, got an array of shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
