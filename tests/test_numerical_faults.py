"""Numerical faults inside a fit never crash a run.

A candidate law whose predictions overflow or are NaN, whose constants are
redundant (singular Jacobian), or whose fit does not converge is dropped
(``Scored.status`` starts with ``failed``) or flagged (``converged`` False with
a message); the other laws are still fitted, ranked and recommended, and
results.json -- strict JSON, no NaN/Infinity tokens -- records the reason in
each law's ``status`` / ``message`` / ``converged`` fields.

Tests marked ``xfail(strict=True)`` document faults whose fix belongs to
modules owned by others (fitting, scoring); the reason names the proposed
change. When it lands the test passes, strict xfail turns that into a failure,
and the marker should be removed.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import discover
from discover.fitting import solver as fit_module

TABLE = str(Path(__file__).resolve().parent / "corpus" / "files" / "ok_clean.csv")
GOOD = "E + A/params**a"


def run(laws, split="column:split", **kw):
    kw.setdefault("bootstrap", 0)
    return discover.fit(TABLE, target="loss", features=["params", "tokens"], laws=[GOOD, *laws], split=split, **kw)


def by_name(res):
    return {s.law.name: s for s in res.laws}


def strict_json(path: Path) -> dict:
    def reject(token):
        raise AssertionError(f"results.json holds the non-JSON number {token}")

    return json.loads(path.read_text(), parse_constant=reject)


def assert_dropped_or_flagged(s):
    assert (s.status.startswith("failed") and len(s.status) > len("failed: ")) or (not s.converged and s.message), \
        (s.law.name, s.status, s.converged, s.message)


def assert_good_law_wins(res):
    s = by_name(res)[GOOD]
    assert s.ok and s.converged
    assert res.laws[res.recommended].law.name == GOOD


def assert_json_records(res, tmp_path, names):
    data = strict_json(res.to_json(tmp_path / "results.json"))
    laws = {d["name"]: d for d in data["laws"]}
    for name in names:
        d = laws[name]
        assert {"status", "message", "converged"} <= set(d)
        s = by_name(res)[name]
        assert d["status"] == s.status and d["message"] == s.message and d["converged"] == s.converged
    return laws


# --------------------------------------------------------------------------- overflow
OVERFLOW = ["E + A*exp(B*params)", "exp(exp(params*k))", "A*params**a*exp(params*b)"]


def test_overflowing_predictions_are_dropped_with_a_reason(tmp_path):
    res = run(OVERFLOW)
    scored = by_name(res)
    for name in OVERFLOW:
        assert not scored[name].ok, name
        assert_dropped_or_flagged(scored[name])
        assert any(w.startswith(name) for w in res.warnings), res.warnings
    assert_good_law_wins(res)
    laws = assert_json_records(res, tmp_path, [GOOD, *OVERFLOW])
    assert all(laws[n]["status"].startswith("failed: ") for n in OVERFLOW)


# --------------------------------------------------------------------------- NaN
NAN_ON_FIT_ROWS = ["E + A*log(-params)", "E + A*sqrt(1e8 - params)", "E + A*log(c - params)"]


def test_nan_predictions_on_fitted_rows_are_dropped_with_a_reason(tmp_path):
    res = run(NAN_ON_FIT_ROWS)
    scored = by_name(res)
    for name in NAN_ON_FIT_ROWS:
        assert not scored[name].ok, name
        assert_dropped_or_flagged(scored[name])
    assert_good_law_wins(res)
    assert_json_records(res, tmp_path, [GOOD, *NAN_ON_FIT_ROWS])


NAN_ON_TEST_ROWS = "E + A*sqrt(2e8 - params)"  # defined up to params = 2e8; the test rows have 3e8


def test_nan_predictions_on_test_rows_count_as_infinite_error(tmp_path):
    res = run([NAN_ON_TEST_ROWS], split="largest:params:0.25")
    s = by_name(res)[NAN_ON_TEST_ROWS]
    assert s.metrics["test"]["rmse_log"] == math.inf  # never NaN, never hidden
    assert_good_law_wins(res)
    laws = assert_json_records(res, tmp_path, [NAN_ON_TEST_ROWS])
    assert laws[NAN_ON_TEST_ROWS]["metrics"]["test"]["rmse_log"] == "inf"


def test_nan_predictions_on_test_rows_are_flagged():
    """A law with no prediction where the forecast is asked (outside its domain) is flagged and
    never recommended: judged on the test rows' inputs, not their targets."""
    res = run([NAN_ON_TEST_ROWS], split="largest:params:0.25")
    s = by_name(res)[NAN_ON_TEST_ROWS]
    assert "no forecast" in s.flags and "6 of 6 test rows" in s.message
    assert res.laws[res.recommended].law.name == GOOD


# --------------------------------------------------------------------------- singular Jacobian
REDUNDANT = ["E + A*B/params**a", "E + A/params**(a*b)", "E + A*tanh(k*(params - c))"]


def test_singular_jacobian_does_not_crash(tmp_path):
    res = run(REDUNDANT)
    assert_good_law_wins(res)
    # a redundant form of the good law is the same function: merged into it (the fewer constants kept)
    assert {"E + A*B/params**a", "E + A/params**(a*b)"} <= set(by_name(res)[GOOD].also)
    assert_json_records(res, tmp_path, [GOOD, "E + A*tanh(k*(params - c))"])


@pytest.mark.parametrize("law", REDUNDANT)
def test_singular_jacobian_is_flagged(law):
    res = discover.fit(TABLE, target="loss", features=["params", "tokens"], laws=[law], split="column:split",
                       bootstrap=0)
    s = by_name(res)[law]
    assert_dropped_or_flagged(s)
    assert "identifiable" in (s.message + s.status)
    assert s.status != "ok" or any(f.startswith("not identifiable") for f in s.flags)


def test_well_posed_laws_are_not_flagged_as_singular():
    res = run(["hoffmann2022", "E + A/params**a + B/tokens**b"])
    for s in res.laws:
        assert s.ok and s.converged, (s.law.name, s.message)


# --------------------------------------------------------------------------- no convergence
def test_fit_that_cannot_converge_is_flagged(tmp_path, monkeypatch):
    """Starve the optimizer (one function evaluation) so it cannot converge."""
    real = fit_module.least_squares

    def starved(*args, **kw):
        kw["max_nfev"] = 1
        return real(*args, **kw)

    monkeypatch.setattr(fit_module, "least_squares", starved)
    res = run(["hoffmann2022"])
    s = by_name(res)["hoffmann2022"]
    assert not s.converged and "maximum number of function evaluations" in s.message
    laws = assert_json_records(res, tmp_path, ["hoffmann2022"])
    assert laws["hoffmann2022"]["converged"] is False


# --------------------------------------------------------------------------- numpy error modes, warnings
def test_numpy_raise_mode_does_not_crash():
    with np.errstate(all="raise"):
        res = run(["exp(exp(params*k))", NAN_ON_TEST_ROWS], split="largest:params:0.25", bootstrap=3)
    assert_good_law_wins(res)


def test_no_runtime_warning_escapes_a_failing_law():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run(["exp(exp(params*k))", NAN_ON_TEST_ROWS], split="largest:params:0.25", bootstrap=3)
    assert_good_law_wins(res)


def test_every_law_failing_still_gives_a_result(tmp_path):
    res = discover.fit(TABLE, target="loss", features=["params", "tokens"], laws=OVERFLOW[:2], bootstrap=0)
    assert res.recommended is None and all(not s.ok for s in res.laws)
    strict_json(res.to_json(tmp_path / "results.json"))
    with pytest.raises(discover.DataError, match="no law could be fitted"):
        res.best


def test_small_backtest_fold_in_a_group_does_not_fail_the_law():
    """Train has 6 rows per group, enough for 3 constants; only the nested backtest fold is short."""
    res = discover.fit(TABLE, target="loss", features=["params", "tokens"], group="group", laws=[GOOD],
                       split="column:split", bootstrap=0)
    assert res.laws[0].ok, res.laws[0].status
