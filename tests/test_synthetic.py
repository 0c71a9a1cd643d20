"""The synthetic recovery suite: deterministic tables from known law forms."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from discover import Law
from discover.bench import synthetic
from discover.errors import DataError


@pytest.fixture(scope="module")
def suite():
    return synthetic.tasks(seed=0, noise=0.01)


def test_at_least_twelve_distinct_tasks(suite):
    assert len(suite) >= 12
    assert len({t.name for t in suite}) == len(suite)
    assert [t.name for t in suite] == synthetic.names()
    assert len({t.truth.formula for t in suite}) == len(suite)


def test_deterministic_for_a_seed(suite):
    again = synthetic.tasks(seed=0, noise=0.01)
    for a, b in zip(suite, again):
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.truth.constants == b.truth.constants
    other = synthetic.tasks(seed=1, noise=0.01)
    assert not np.allclose(suite[0].frame[suite[0].target], other[0].frame[other[0].target])
    # One task does not depend on the others: building it alone gives the same table.
    pd.testing.assert_frame_equal(synthetic.task(suite[3].name, seed=0).frame, suite[3].frame)


def test_frame_layout(suite):
    for t in suite:
        assert list(t.frame.columns) == t.features + [t.target, "split"]
        assert set(t.frame["split"]) == {"train", "test"}
        assert t.truth.variables == tuple(t.features)
        assert set(t.truth.constants) == set(t.truth.params)
        assert len(t.frame) >= 30


def test_truth_laws_are_finite_and_positive_losses(suite):
    for t in suite:
        y = t.true_values()
        assert np.isfinite(y).all(), t.name
        if t.noise_kind == "multiplicative":
            assert (y > 0).all(), t.name
            assert (t.frame[t.target] > 0).all(), t.name
        else:
            assert t.noise_kind == "additive"
    kinds = {t.name: t.noise_kind for t in suite}
    assert kinds["vocab"] == "additive" and (suite[[t.name for t in suite].index("vocab")].true_values() < 0).all()


def test_noise_level_matches(suite):
    for t in suite:
        y = t.frame[t.target].to_numpy()
        truth = t.true_values()
        if t.noise_kind == "multiplicative":
            resid = np.log(y / truth)
            level = resid.std()
        else:
            level = (y - truth).std() / t.noise_scale * t.noise
            assert t.noise_scale == pytest.approx(t.noise * truth.std())
        assert abs(level - t.noise) < 0.3 * t.noise, (t.name, level)


def test_zero_noise_is_exact():
    for t in synthetic.tasks(seed=5, noise=0.0):
        np.testing.assert_allclose(t.frame[t.target], t.true_values(), rtol=1e-12)


def test_bad_noise_and_unknown_task():
    with pytest.raises(DataError, match="noise"):
        synthetic.tasks(noise=-0.1)
    with pytest.raises(DataError, match="chinchilla"):
        synthetic.task("nope")


def test_test_rows_are_largest_scale(suite):
    for t in suite:
        scale = t.scale_values()
        test = (t.frame["split"] == "test").to_numpy()
        assert scale[test].min() > scale[~test].max(), t.name
        assert 0.1 <= test.mean() <= 0.3, (t.name, test.mean())


def test_to_directory_writes_readable_task_files(tmp_path, suite):
    written = synthetic.to_directory(tmp_path, seed=0, noise=0.01)
    assert len(written) == len(suite)
    for t, task_path in zip(suite, written):
        assert task_path == tmp_path / f"{t.name}.json"
        task = json.loads(task_path.read_text())
        assert set(task) == {"table", "target", "features", "group", "split", "truth"}
        assert task["table"] == f"{t.name}.csv" and task["split"] == "column:split" and task["group"] is None
        table = pd.read_csv(tmp_path / task["table"])
        assert list(table.columns) == task["features"] + [task["target"], "split"]
        np.testing.assert_allclose(table[task["target"]], t.frame[t.target], rtol=1e-12)
        law = Law.from_formula(task["truth"]["expression"], task["features"]).with_constants(task["truth"]["constants"])
        np.testing.assert_allclose(law.predict(table), t.true_values(), rtol=1e-9)


def test_true_constants_lie_within_declared_bounds(suite):
    # A fitter started from the declared bounds and starts can reach the truth.
    for t in suite:
        for name, value in t.truth.constants.items():
            p = t.truth.params[name]
            assert p.lower <= value <= p.upper, (t.name, name, value)
