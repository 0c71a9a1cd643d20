import numpy as np
import pandas as pd
import pytest

from discover.data import load_dataset
from discover.errors import DataError
from discover.splits import TEST, TRAIN, VAL, make_split


def table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(8, 11, n)
    g = np.where(np.arange(n) % 2, "a", "b")
    return pd.DataFrame({"params": N, "tokens": D, "loss": 2 + 400 / N**0.3, "g": g,
                         "split": np.where(N > np.quantile(N, 0.8), "test", "train")})


def ds(**kw):
    return load_dataset(table(), target="loss", features=["params", "tokens"], keep=["split"], **kw)


def test_compute_split_tests_the_largest_compute_and_validates_below_it():
    d = ds()
    sp = make_split(d, "compute:0.2")
    C = 6 * d.frame.params * d.frame.tokens
    assert C[sp.labels == TEST].min() >= C[sp.labels == VAL].max() >= C[sp.labels == TRAIN].max()
    assert sp.sizes()[TEST] == 12 and sp.sizes()[VAL] > 0
    assert sp.has_backtest and set(sp.backtest[1]) <= set(sp.rows(TRAIN))


def test_largest_column_split():
    d = ds()
    sp = make_split(d, "largest:params:0.25")
    assert d.frame.params[sp.labels == TEST].min() >= d.frame.params[sp.labels != TEST].max()


def test_column_split_keeps_labels_and_carves_validation_from_train():
    d = ds()
    sp = make_split(d, "column:split")
    assert (sp.labels[d.frame.split.to_numpy() == "test"] == TEST).all()
    assert sp.sizes()[VAL] > 0
    # the validation band is the most test-like part of train: large params
    assert d.frame.params[sp.labels == VAL].mean() > d.frame.params[sp.labels == TRAIN].mean()


def test_column_split_on_a_coarse_grid_keeps_most_train_rows_for_fitting():
    # 3 sizes x 2 token budgets x 30 hyperparameter settings, the largest N*D held out.
    # The top level along each direction is a third or half of the rows: their union
    # would leave 2 of the 5 (N, D) pairs to fit on. The band falls back on the
    # combined scale (N*D) and keeps 4 pairs.
    rows = [(n, d, h) for n in (6e7, 2.4e8, 1e9) for d in (2e10, 8e10) for h in range(30)]
    f = pd.DataFrame(rows, columns=["params", "tokens", "h"])
    f["h"] = 1.0 + f["h"]
    f["loss"] = 2 + 400 / f.params**0.3
    f["split"] = np.where(f.params * f.tokens >= 1e9 * 8e10, "test", "train")
    d = load_dataset(f, target="loss", features=["params", "tokens", "h"], keep=["split"])
    sp = make_split(d, "column:split")
    assert sp.sizes() == {TRAIN: 120, VAL: 30, TEST: 30}
    val = d.frame[sp.labels == VAL]
    assert set(zip(val.params, val.tokens)) == {(1e9, 2e10)}
    fit_pairs = set(zip(d.frame.params[sp.labels == TRAIN], d.frame.tokens[sp.labels == TRAIN]))
    assert len(fit_pairs) == 4


def test_group_and_random_splits():
    d = ds(group="g")
    sp = make_split(d, "group:a")
    assert (d.frame.g[sp.labels == TEST] == "a").all() and sp.kind == "leave-group-out"
    r1, r2 = make_split(d, "random:0.2", seed=1), make_split(d, "random:0.2", seed=1)
    assert (r1.labels == r2.labels).all() and r1.kind == "interpolation"


def test_none_split_fits_everything():
    sp = make_split(ds(), None)
    assert (sp.labels == TRAIN).all() and sp.kind == "none"


@pytest.mark.parametrize("spec,msg", [
    ("compute:1.5", "between 0 and 1"),
    ("largest:nope:0.2", "not in the table"),
    ("group:a", "needs a group"),
    ("bogus:1", "unknown split"),
    ("column:params", "unknown labels"),
])
def test_bad_specs(spec, msg):
    with pytest.raises(DataError, match=msg):
        make_split(ds(), spec)
