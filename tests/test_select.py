"""Choosing the recommended law: Pareto front and the paired one-standard-error rule."""

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
    errs, cx = [_rmse(lucky), _rmse(simple)], [30, 12]
    assert errs[0] < errs[1] * 0.98                   # beyond the plain relative tolerance
    assert recommend(errs, cx) == 0                   # which alone keeps the lucky law
    res = [{"val": lucky}, {"val": simple}]
    assert recommend(errs, cx, residuals=res) == 1


def test_a_law_better_on_nearly_every_row_stays_recommended():
    better = NOISE
    worse = NOISE * 1.15                              # the simpler form misses a little more on every row
    errs, cx = [_rmse(better), _rmse(worse)], [30, 12]
    assert recommend(errs, cx, residuals=[{"val": better}, {"val": worse}]) == 0


def test_paired_excess_weights_bands_and_compares_only_shared_bands():
    a = {"val": np.full(10, 0.02), "backtest": np.full(10, 0.01)}
    b = {"val": np.full(10, 0.01)}
    ex, se = paired_excess(a, b, {"val": 2.0, "backtest": 1.0})
    assert math.isclose(ex, 0.02**2 - 0.01**2) and se == 0.0
    b["backtest"] = np.zeros(10)
    ex, _ = paired_excess(a, b, {"val": 2.0, "backtest": 1.0})
    assert math.isclose(ex, (2 * (0.02**2 - 0.01**2) + 0.01**2) / 3)


def test_paired_excess_of_a_law_with_non_finite_residuals_is_infinite():
    assert paired_excess({"val": [0.1, "inf", 0.2]}, {"val": [0.1, 0.1, 0.1]}, {})[0] == math.inf
    assert paired_excess({"val": [0.1, 0.2]}, {"backtest": [0.1, 0.1]}, {})[0] == math.inf


def test_a_simpler_law_the_fitted_rows_speak_against_does_not_replace_the_best():
    better = NOISE
    close = NOISE + np.random.default_rng(1).normal(0, 0.003, 40)  # as good on the few validation rows ...
    errs, cx, res = [_rmse(better), _rmse(close)], [30, 12], [{"val": better}, {"val": close}]
    assert recommend(errs, cx, residuals=res, bics=[-500.0, -495.0]) == 1
    assert recommend(errs, cx, residuals=res, bics=[-500.0, -450.0]) == 0  # ... but far worse where fitted


def test_the_best_on_validation_is_not_the_reference_when_the_fitted_rows_speak_against_it():
    rng = np.random.default_rng(3)
    lucky = NOISE * 0.5  # a law that happens to extrapolate well on the few validation rows
    truth = NOISE + rng.normal(0, 0.002, 40)
    longer = NOISE + rng.normal(0, 0.002, 40)  # as good as the truth, within noise
    errs = [_rmse(lucky), _rmse(truth), _rmse(longer)]
    cx, res = [20, 24, 30], [{"val": lucky}, {"val": truth}, {"val": longer}]
    assert recommend(errs, cx, residuals=res) == 0
    # ... but it fits its rows far worse than the others: it is out, and the simplest law
    # within noise of the best remaining one is chosen
    assert recommend(errs, cx, residuals=res, bics=[-450.0, -500.0, -498.0]) == 1


def test_the_bic_veto_is_dropped_when_the_validation_band_is_large():
    """On a large band the paired test judges by itself: a simpler law within noise of the best is
    chosen though the fitted rows (in-sample BIC) prefer the longer one by far."""
    rng = np.random.default_rng(4)
    best = rng.normal(0, 0.01, 240)
    close = best + rng.normal(0, 0.002, 240)
    errs, cx, res = [_rmse(best), _rmse(close)], [60, 30], [{"val": best}, {"val": close}]
    assert recommend(errs, cx, residuals=res, bics=[-5000.0, -4200.0]) == 1
    small = [{"val": best[:40]}, {"val": close[:40]}]
    assert recommend([_rmse(best[:40]), _rmse(close[:40])], cx, residuals=small, bics=[-5000.0, -4200.0]) == 0


def test_strong_evidence_of_the_fitted_rows_breaks_a_tie_on_validation():
    """Validation cannot tell the two apart; the fitted rows favour the longer law by a BIC of 8
    (strong evidence, past 6): it is chosen. By 5 (positive only), the simpler law still is."""
    better = NOISE
    close = NOISE + np.random.default_rng(1).normal(0, 0.003, 40)
    errs, cx, res = [_rmse(better), _rmse(close)], [30, 12], [{"val": better}, {"val": close}]
    assert recommend(errs, cx, residuals=res, bics=[-500.0, -492.0]) == 0
    assert recommend(errs, cx, residuals=res, bics=[-500.0, -495.0]) == 1
    assert recommend(errs, cx, residuals=res) == 1
    assert recommend(errs, cx, residuals=res, bics=[-500.0, math.nan]) == 1  # no BIC, no say against it
