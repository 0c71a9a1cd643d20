"""The time budget bounds the whole run: its plan (what the engines get, how many bootstrap
resamples fit), the deadline that ends scoring, and what the results say about both."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import discover
from discover.budget import MAX_SEARCH_SHARE, MIN_SEARCH_SHARE, UNMEASURED_SHARE, Budget, Deadline


def test_search_gets_what_scoring_and_the_bootstrap_leave():
    clock = Budget(100.0)
    # 0.2 s per catalog law: (25 handed over + 15 neighbours) * 4 * 0.2 s = 32 s, plus 10 s of bootstrap
    got = clock.search_seconds(0.2, 1, True)
    assert got == pytest.approx(clock.left() - 32.0 - 10.0, abs=0.05)
    assert clock.search_seconds(0.2, 1, False) == pytest.approx(clock.left() - 32.0, abs=0.05)
    assert clock.left() == pytest.approx(97.0, abs=0.05)  # 3 % kept for the reports
    # two engines: a reserve for what each hands over
    assert clock.search_seconds(0.2, 2, False) == pytest.approx(clock.left() - 52.0, abs=0.05)
    # a table where scoring alone would eat the budget still gets a search
    assert clock.search_seconds(10.0, 1, False) == pytest.approx(MIN_SEARCH_SHARE * 100.0)
    # a fast catalog does not hand the engines everything: their laws must be judged too
    assert clock.search_seconds(0.001, 1, False) == pytest.approx(MAX_SEARCH_SHARE * 100.0)
    # nothing measured (no catalog law): a fixed share
    assert clock.search_seconds(None, 1, False) == pytest.approx(UNMEASURED_SHARE * clock.left(), abs=0.05)


def test_deadline_is_a_stop_flag_that_the_clock_sets():
    late = Deadline(time.monotonic() - 1.0)
    assert late and late.passed
    early = Deadline(time.monotonic() + 60.0)
    assert not early and not early.passed

    class Stop:
        reason = "SIGINT"

        def __bool__(self):
            return True
    stopped = Deadline(time.monotonic() + 60.0, Stop())
    assert stopped and not stopped.passed and stopped.reason == "SIGINT"


def _table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), n))
    loss = (1.7 + 400 / N ** 0.34 + 410 / D ** 0.28) * np.exp(0.01 * rng.standard_normal(n))
    return pd.DataFrame({"params": N, "tokens": D, "loss": loss})


def test_a_short_budget_cuts_the_bootstrap_and_says_so():
    res = discover.discover(_table(), target="loss", features=["params", "tokens"], split="compute:0.2",
                            time_budget=4, bootstrap=100000, max_forms=20)
    used = res.options["bootstrap_used"]
    assert used < 100000
    assert any("bootstrap cut to" in w for w in res.warnings)
    for phase in ("catalog_s", "search_s", "score_s", "total_s"):
        assert phase in res.timing
    engine = res.engines[0]
    assert engine["budget_s"] < 4  # the engine was given a share of the budget, not all of it


def test_a_budget_with_room_keeps_every_resample():
    res = discover.discover(_table(), target="loss", features=["params", "tokens"], split="compute:0.2",
                            time_budget=120, bootstrap=5, max_forms=20)
    assert res.options["bootstrap_used"] == 5
    assert not any("bootstrap cut" in w for w in res.warnings)


def test_bootstrap_stops_drawing_at_its_deadline():
    from discover.fitting import fit_law
    from discover.law import Law
    df = _table()
    law = Law.from_formula("E + A/params**a + B/tokens**b", variables=["params", "tokens"])
    X = {"params": df.params.to_numpy(), "tokens": df.tokens.to_numpy()}
    done = fit_law(law, X, df.loss.to_numpy(), bootstrap=50, bootstrap_until=time.monotonic() - 1)
    assert all(len(v) == 0 for v in done.samples.values())  # past its deadline: no draw begun
    full = fit_law(law, X, df.loss.to_numpy(), bootstrap=12, bootstrap_until=time.monotonic() + 600)
    assert all(len(v) == 12 for v in full.samples.values())


def test_a_law_whose_bootstrap_share_is_spent_is_not_refit(monkeypatch):
    # the warm refit a law's resamples start from costs a whole fit (many groups: seconds); after
    # the deadline nothing is drawn from it, so it must not begin either
    from discover import scoring
    from discover.options import FitOptions, TableSpec
    from discover.pipeline import prepare
    ds, sp = prepare(_table(), TableSpec(target="loss", features=["params", "tokens"], split="compute:0.2"))
    options = FitOptions(bootstrap=20)
    law = discover.Law.from_formula("E + A/params**a + B/tokens**b", variables=["params", "tokens"])
    scored = scoring.score_candidate(law, ds, sp, options, bootstrap=0)
    assert scored.ok

    def no_fit(*args, **kwargs):
        raise AssertionError("a refit began after the bootstrap's deadline")
    monkeypatch.setattr(scoring, "fit_law", no_fit)
    late = scoring.add_bootstrap(scored, ds, sp, options, until=time.monotonic() - 1)
    assert not late.samples and "no time left" in late.message
