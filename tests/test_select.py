"""Choosing the recommended law: the catalog default, the paired one-standard-error rule, the Pareto front."""

import math

import numpy as np

from discover.select import paired_excess, pareto_front, recommend

RNG = np.random.default_rng(0)
NOISE = RNG.normal(0, 0.01, 40)


def _rmse(r):
    return float(np.sqrt(np.mean(np.square(r))))


def test_pareto_front_keeps_undominated_points_sorted_by_complexity():
    assert pareto_front([(0.1, 5), (0.2, 3), (0.15, 6), (math.inf, 1)]) == [1, 0]


def test_a_law_that_wins_by_luck_on_a_few_rows_does_not_crowd_out_a_simpler_one():
    simple = NOISE + np.random.default_rng(1).normal(0, 0.003, 40)  # the true form: only noise left
    lucky = NOISE.copy()
    lucky[:3] *= 0.2                                  # a longer form that bent towards three noisy rows
    errs, sizes = [_rmse(lucky), _rmse(simple)], [(8, 30), (4, 12)]
    assert errs[0] < errs[1] * 0.98                   # beyond the plain relative tolerance
    assert recommend(errs, sizes).recommended == 0    # which alone keeps the lucky law
    res = [{"val": lucky}, {"val": simple}]
    assert recommend(errs, sizes, residuals=res).recommended == 1


def test_a_law_better_on_nearly_every_row_stays_recommended():
    better = NOISE
    worse = NOISE * 1.15                              # the simpler form misses a little more on every row
    errs, sizes = [_rmse(better), _rmse(worse)], [(8, 30), (4, 12)]
    assert recommend(errs, sizes, residuals=[{"val": better}, {"val": worse}]).recommended == 0


def test_fewer_constants_come_first_then_the_shorter_formula():
    same = [NOISE, NOISE, NOISE]
    errs = [_rmse(r) for r in same]
    res = [{"val": r} for r in same]
    assert recommend(errs, [(5, 10), (4, 30), (4, 20)], residuals=res).recommended == 2
    assert recommend(errs, [(3, 50), (4, 30), (4, 20)], residuals=res).recommended == 0


def test_the_catalog_law_is_the_default_a_discovered_law_must_beat_significantly():
    rng = np.random.default_rng(5)
    published = NOISE + rng.normal(0, 0.004, 40)
    slightly = published * 0.97        # a discovered law a little better on every row: significant
    by_luck = published.copy()
    by_luck[:4] *= 0.3                 # better on four rows only: not significant
    for found, wins in ((slightly, True), (by_luck, False)):
        errs = [_rmse(published), _rmse(found)]
        choice = recommend(errs, [(5, 20), (3, 10)], residuals=[{"val": published}, {"val": found}],
                           catalog=[True, False])
        assert choice.default == 0
        assert choice.recommended == (1 if wins else 0), choice.reason
    # without the catalog default the simpler law within noise would have been taken
    errs = [_rmse(published), _rmse(by_luck)]
    assert recommend(errs, [(5, 20), (3, 10)], residuals=[{"val": published}, {"val": by_luck}]).recommended == 1


def test_the_default_is_the_simplest_catalog_law_as_good_as_the_best_catalog_law():
    rng = np.random.default_rng(6)
    best = NOISE
    close = NOISE + rng.normal(0, 0.002, 40)
    far = NOISE * 1.6
    errs = [_rmse(best), _rmse(close), _rmse(far)]
    res = [{"val": best}, {"val": close}, {"val": far}]
    choice = recommend(errs, [(6, 30), (4, 20), (2, 5)], residuals=res, catalog=[True, True, True])
    assert choice.recommended == choice.default == 1


def _excess_of(base, t, rng):
    """Residuals whose paired excess squared error over ``base`` is ``t`` of its standard errors."""
    e = rng.uniform(-1.0, 1.0, len(base)) * 0.3 * np.mean(base ** 2)
    d = e - e.mean()
    d = d + t * d.std(ddof=1) / math.sqrt(len(d))
    return np.sqrt(base ** 2 + d)


def test_a_simpler_law_is_as_good_only_within_one_standard_error_of_the_best():
    # the one-standard-error rule: 1.5 standard errors worse is worse, though not significantly
    rng = np.random.default_rng(7)
    best = 0.05 + np.abs(NOISE)
    simpler = _excess_of(best, 1.5, rng)
    near = _excess_of(best, 0.5, rng)
    excess, se = paired_excess({"val": simpler}, {"val": best})
    assert 1.4 < excess / se < 1.6
    for other, taken in ((simpler, False), (near, True)):
        errs = [_rmse(best) * 0.95, _rmse(other)]  # beyond the 2 % tolerance: the paired test decides
        choice = recommend(errs, [(5, 20), (3, 10)], residuals=[{"val": best}, {"val": other}])
        assert choice.recommended == (1 if taken else 0), choice.reason
        # both are among the laws the rows cannot tell apart from the best (two standard errors)
        assert choice.as_good_as_best == [0, 1]


def test_the_default_and_a_clean_law_in_a_flagged_ones_place_follow_the_one_standard_error_bar_too():
    rng = np.random.default_rng(9)
    best = 0.05 + np.abs(NOISE)
    for t, simpler_taken in ((1.5, False), (0.5, True)):
        simpler = _excess_of(best, t, rng)
        errs, res = [_rmse(best) * 0.95, _rmse(simpler)], [{"val": best}, {"val": simpler}]
        # among catalog laws: the default is the simpler one only within one standard error
        choice = recommend(errs, [(5, 20), (3, 10)], residuals=res, catalog=[True, True])
        assert choice.default == (1 if simpler_taken else 0), (t, choice.reason)
        # a flagged best law gives way to a clean one (here the larger) only within one standard error
        choice = recommend(errs, [(3, 10), (5, 20)], residuals=res, clean=[False, True])
        assert choice.recommended == (1 if simpler_taken else 0), (t, choice.reason)


def test_a_discovered_law_must_beat_the_default_by_two_standard_errors_not_one():
    rng = np.random.default_rng(8)
    found = 0.05 + np.abs(NOISE)
    for t, replaces in ((1.5, False), (2.5, True)):
        published = _excess_of(found, t, rng)  # the published law worse by t standard errors
        errs = [_rmse(published), _rmse(found) * 0.95]
        choice = recommend(errs, [(3, 10), (5, 20)], residuals=[{"val": published}, {"val": found}],
                           catalog=[True, False])
        assert choice.default == 0
        assert choice.recommended == (1 if replaces else 0), (t, choice.reason)


def test_a_flagged_law_gives_way_to_a_clean_one_as_good_as_it():
    rng = np.random.default_rng(7)
    flagged = 0.01 + np.abs(NOISE)
    clean = _excess_of(flagged, 0.5, rng)  # worse by half a standard error: as good
    errs, res = [_rmse(flagged), _rmse(clean)], [{"val": flagged}, {"val": clean}]
    assert errs[1] > errs[0]
    sizes = [(3, 10), (5, 20)]
    assert recommend(errs, sizes, residuals=res).recommended == 0
    assert recommend(errs, sizes, residuals=res, clean=[False, True]).recommended == 1
    much_better = flagged * 0.3  # no clean law is as good: the flagged one stays, and says so
    choice = recommend([_rmse(much_better), _rmse(clean)], sizes, residuals=[{"val": much_better}, {"val": clean}],
                       clean=[False, True])
    assert choice.recommended == 0 and "flagged" in choice.reason


def test_a_law_that_falls_below_zero_as_a_scale_grows_is_not_recommended_while_another_can_forecast():
    """However much better it predicts the bands (a log fit of one curve), unless it is the only one."""
    much_better = NOISE * 0.3
    errs, res = [_rmse(much_better), _rmse(NOISE)], [{"val": much_better}, {"val": NOISE}]
    sizes = [(2, 6), (3, 9)]
    choice = recommend(errs, sizes, residuals=res, admissible=[False, True])
    assert choice.recommended == 1 and "falls below zero" in choice.reason
    assert 0 in choice.as_good_as_best  # still on the leaderboard as the best predictor of the bands
    assert recommend(errs, sizes, residuals=res, admissible=[True, True]).recommended == 0
    assert recommend(errs, sizes, residuals=res, admissible=[False, False]).recommended == 0
    # the catalog default is chosen among admissible laws too
    choice = recommend(errs, sizes, residuals=res, catalog=[True, True], admissible=[False, True])
    assert choice.recommended == 1 and choice.default == 1
    choice = recommend(errs, sizes, residuals=res, catalog=[True, False], admissible=[False, True])
    assert choice.recommended == 1 and choice.default is None and "every catalog law" in choice.reason
    choice = recommend(errs, sizes, residuals=res, admissible=[False, False])
    assert choice.recommended == 0 and "every law's forecast falls below zero" in choice.reason


def test_with_no_held_out_rows_the_lowest_bic_is_recommended_among_laws_that_do_not_fall_below_zero():
    from discover.law import Law
    from discover.result import Scored
    from discover.select import rank

    laws = [Scored(Law.from_formula(f, ["params"]), {"train": {"n": 10}}, bic=b, flags=fl)
            for f, b, fl in (("E + A*log(params)", -50.0, ["forecasts below zero as a scale grows: params"]),
                             ("E + A/params**a", -40.0, []))]
    ranking = rank(laws, True)
    assert ranking.laws[ranking.recommended].law.formula == "E + A/params**a"
    laws[1].flags = ["forecasts below zero as a scale grows: params"]
    ranking = rank(laws, True)
    assert ranking.laws[ranking.recommended].law.formula == "E + A*log(params)"  # the lowest BIC when all fall


def test_paired_excess_pools_the_rows_of_shared_bands():
    a = {"val": np.full(10, 0.02), "backtest": np.full(10, 0.01)}
    b = {"val": np.full(10, 0.01)}
    ex, se = paired_excess(a, b)
    assert math.isclose(ex, 0.02**2 - 0.01**2) and se == 0.0
    b["backtest"] = np.zeros(10)
    ex, _ = paired_excess(a, b)
    assert math.isclose(ex, ((0.02**2 - 0.01**2) + 0.01**2) / 2)  # 20 rows, 10 of each band


def test_paired_excess_of_a_law_with_non_finite_residuals_is_infinite():
    assert paired_excess({"val": [0.1, "inf", 0.2]}, {"val": [0.1, 0.1, 0.1]})[0] == math.inf
    assert paired_excess({"val": [0.1, 0.2]}, {"backtest": [0.1, 0.1]})[0] == math.inf


def test_more_rows_let_a_longer_law_win_that_few_rows_cannot_tell_apart():
    """Parsimony in proportion to the evidence: the same small, consistent advantage is within
    noise on 12 rows and significant on 400."""
    rng = np.random.default_rng(8)
    for n, wins in ((12, False), (400, True)):
        base = rng.normal(0, 0.01, n)
        longer = base * 0.95
        simpler = base + rng.normal(0, 0.004, n)
        errs = [_rmse(longer), _rmse(simpler)]
        choice = recommend(errs, [(7, 40), (4, 15)], residuals=[{"val": longer}, {"val": simpler}])
        assert choice.recommended == (0 if wins else 1), n


def test_the_small_sample_bar_is_students_t_at_the_same_level():
    import pytest
    from scipy import stats

    from discover.select import critical_value
    assert critical_value(2.0, 10_000) == pytest.approx(2.0, abs=0.002)
    level = stats.norm.cdf(2.0)
    assert critical_value(2.0, 5) == pytest.approx(2.0 * stats.t.ppf(level, 5) / stats.norm.ppf(level))
    assert critical_value(2.0, 5) > 2.6 and critical_value(2.0, 0) == float("inf")
