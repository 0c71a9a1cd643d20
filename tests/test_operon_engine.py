"""The Operon engine: recorded model strings, laws in the user's variables, and runs through the pipeline.

Searches here are short (a few seconds) on small tables.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from discover import canon
from discover.engines import EngineTask, get_engine
from discover.engines.operon import OperonEngine, parse_operon_model
from discover.engines.symbolic import InputTransform, expression_to_law, tidy
from discover.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
HAVE_OPERON = importlib.util.find_spec("pyoperon") is not None
needs_operon = pytest.mark.skipif(not HAVE_OPERON, reason="pyoperon is not installed (pip install 'discover[operon]')")

MU_N, SD_N, MU_D, SD_D = 20.1, 1.7, 23.4, 1.1
VMAP = {"X1": f"(log(N) - {MU_N})/{SD_N}", "X2": f"(log(D) - {MU_D})/{SD_D}"}

# Model strings as Operon's infix formatter prints them, with what each computes.
RECORDED = [
    ("(1.279530 + (0.146037 * ((-1.508968) * X1)))", lambda a, b: 1.279530 + 0.146037 * (-1.508968 * a)),
    ("(0.834662 + (0.391470 * exp(((-0.505062) * X1))))", lambda a, b: 0.834662 + 0.391470 * np.exp(-0.505062 * a)),
    ("(0.178787 + (0.516745 * (exp(((-0.417434) * X1)) + exp(((-0.274483) * X2)))))",
     lambda a, b: 0.178787 + 0.516745 * (np.exp(-0.417434 * a) + np.exp(-0.274483 * b))),
    ("((-0.830211) + (1.000503 * (log((exp((0.178639 * X1)) - ((-0.149897) * X2))) + (exp(((-0.380206) * X1)) + exp(((-0.292403) * X2))))))",
     lambda a, b: -0.830211 + 1.000503 * (np.log(np.exp(0.178639 * a) + 0.149897 * b) + np.exp(-0.380206 * a) + np.exp(-0.292403 * b))),
    ("(0.000022 + (0.999981 * ((exp(((-0.135583) * X1)) * ((((-0.312385) * X1) ^ 2) - ((((-0.281641) * X1) - 1.175066) * exp(((-0.222785) * X2))))) + ((0.113665 * X2) + ((-0.319679) * X1)))))",
     lambda a, b: 0.000022 + 0.999981 * (np.exp(-0.135583 * a) * ((-0.312385 * a) ** 2 - (-0.281641 * a - 1.175066) * np.exp(-0.222785 * b)) + 0.113665 * b - 0.319679 * a)),
    ("((-0.000000) + (1.000000 * (0.5 * X1)))", lambda a, b: 0.5 * a),
]


def _inputs(n=30, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 11.5, n)
    return {"N": N, "D": D}, (np.log(N) - MU_N) / SD_N, (np.log(D) - MU_D) / SD_D


# ---------------------------------------------------------------------------- recorded model strings
@pytest.mark.parametrize("text,f", RECORDED)
def test_recorded_models_parse_to_laws_in_original_variables(text, f):
    X, a, b = _inputs()
    expr = parse_operon_model(text, VMAP)
    assert {str(s) for s in expr.free_symbols} <= {"N", "D"}
    cand = expression_to_law(expr, ["N", "D"], provenance="engine: operon, seed 4", max_constants=30, max_nonlinear=30)
    assert cand is not None
    law = cand.law
    assert law.provenance == "engine: operon, seed 4"
    assert set(law.variables) <= {"N", "D"} and set(cand.start) == set(law.params)
    with np.errstate(all="ignore"):
        want = f(a, b)
    got = law.evaluate(X, cand.start)
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-8, atol=1e-12)


def test_power_laws_come_back_readable():
    expr = parse_operon_model(RECORDED[2][0], VMAP)
    cand = expression_to_law(expr, ["N", "D"], provenance="x")
    law = cand.law
    # 0.18 + 0.52 (exp(-0.42 z0) + exp(-0.27 z1))  ->  c0 + c1*N**c2 + c3*D**c4
    assert law.n_constants == 5
    assert not law.expr.has(sympy.exp) and not law.expr.has(sympy.log)
    N, D = sympy.symbols("N D", positive=True)
    chinchilla = 1.0 + 2.0 * N ** sympy.Float(-0.3) + 3.0 * D ** sympy.Float(-0.2)
    assert canon.skeleton(law) == canon.skeleton(expression_to_law(chinchilla, ["N", "D"], provenance="y").law)
    start = cand.start
    exps = sorted(v for k, v in start.items() if math.isfinite(law.params[k].lower))
    assert exps == pytest.approx(sorted([0.417434 / SD_N, 0.274483 / SD_D]))  # written A/N**alpha, alpha > 0
    assert law.formula.count("/") == 2


def test_products_of_sums_lose_their_redundant_scales():
    N, D = sympy.symbols("N D", positive=True)
    e = 2.0 * N ** 0.3 * (0.5 + 0.2 * sympy.log(N)) * (1.5 + 0.7 * sympy.log(D))
    cand = expression_to_law(e, ["N", "D"], provenance="x")
    law = cand.law
    X, _, _ = _inputs()
    np.testing.assert_allclose(law.evaluate(X, cand.start), sympy.lambdify([N, D], e)(X["N"], X["D"]), rtol=1e-10)
    assert law.n_constants <= 5  # not 6: the scales of the two sums fold into one coefficient
    assert float(tidy(e).subs({N: 1e9, D: 1e10})) == pytest.approx(float(e.subs({N: 1e9, D: 1e10})))


@pytest.mark.parametrize("text", ["__import__('os').system('x')", "X1.__class__", "(lambda: X1)()", "X1 # X2",
                                  "X3 + X1", "open('f')", "X1 ** 2", "9 ^ 9 ^ 9 ^ 9", "inf * X1", "nan + X1"])
def test_hostile_or_foreign_model_strings_are_rejected(text):
    with pytest.raises(DataError):
        parse_operon_model(text, VMAP)


def test_laws_without_variables_or_with_too_many_constants_are_dropped():
    assert expression_to_law(sympy.Float(2.0), ["N"], provenance="x") is None
    N = sympy.Symbol("N", positive=True)
    big = sum(sympy.Float(k + 1.5) * N ** sympy.Float(-0.1 * (k + 1)) for k in range(8))
    assert expression_to_law(big, ["N"], provenance="x") is None  # 16 constants, 8 of them exponents
    assert expression_to_law(big, ["N"], provenance="x", max_constants=20, max_nonlinear=10) is not None


def test_input_transform_round_trip():
    X, _, _ = _inputs()
    X["lr"] = np.linspace(-1, 1, len(X["N"]))  # not positive: standardised linearly
    t = InputTransform.fit(X, ["N", "D", "lr"])
    assert t.kinds == ("log", "log", "lin")
    Z = t.apply(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    inv = t.inverse_map()
    for j, name in enumerate(t.names):
        f = sympy.lambdify([sympy.Symbol(v, positive=True) for v in ("N", "D", "lr")], inv[name])
        np.testing.assert_allclose(f(X["N"], X["D"], X["lr"]), Z[:, j], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- live searches
def _task(n=80, seed=1, grouped=False, budget=5.0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(6, 10, n)
    D = 10 ** rng.uniform(8, 11, n)
    y = (1.7 + 400 / N ** 0.34 + 410 / D ** 0.28) * np.exp(rng.normal(0, 0.002, n))
    order = np.argsort(N * D)
    tr, va = order[: int(0.8 * n)], order[int(0.8 * n):]
    g = np.array(["a", "b"] * (n // 2))
    return EngineTask(X_train={"N": N[tr], "D": D[tr]}, y_train=y[tr], X_val={"N": N[va], "D": D[va]}, y_val=y[va],
                      features=["N", "D"], target="loss", time_budget=budget, seed=seed,
                      groups_train=g[tr] if grouped else None, groups_val=g[va] if grouped else None)


@needs_operon
def test_engine_returns_laws_in_original_variables():
    eng = get_engine("operon")
    assert eng.available() == (True, "")
    assert eng.version().startswith("pyoperon")
    task = _task()
    t0 = time.monotonic()
    cands = eng.propose(task)
    assert time.monotonic() - t0 < task.time_budget + 3
    assert cands
    laws = [c.law for c in cands]
    for cand in cands:
        law = cand.law
        assert law.provenance == "engine: operon, seed 1"
        assert set(law.variables) <= {"N", "D"}
        assert {str(s) for s in law.expr.free_symbols} <= {"N", "D"} | set(law.params)
        assert set(cand.start) == set(law.params)
    # the engine's own constants already predict the validation rows (normalisation undone correctly)
    best = cands[0]
    pred = best.law.evaluate(task.X_val, best.start)
    assert np.sqrt(np.mean((np.log(pred) - np.log(task.y_val)) ** 2)) < 0.05
    assert len({canon.skeleton(law) for law in laws}) == len(laws)  # no duplicate forms


@needs_operon
def test_log_target_only_and_grouped_pooling():
    eng = OperonEngine(log_target=True)
    assert eng.available()[0]  # loads pyoperon, as the pipeline does before the clock starts
    task = _task(grouped=True, budget=3)
    cands = eng.propose(task)
    assert cands and all(c.log_target for c in cands)
    laws = [c.law for c in cands]
    # pooled groups: one law, its nonlinear constants shared, the linear ones refit per group
    assert any(law.shared for law in laws)
    for law in laws:
        assert set(law.shared) <= set(law.params)
    with pytest.raises(DataError):
        OperonEngine(log_target="sometimes")


@needs_operon
def test_discover_with_grammar_and_operon_ranks_both():
    from discover.search import discover

    task = _task(n=60, budget=6)
    frame = pd.DataFrame({"N": np.concatenate([task.X_train["N"], task.X_val["N"]]),
                          "D": np.concatenate([task.X_train["D"], task.X_val["D"]]),
                          "loss": np.concatenate([task.y_train, task.y_val])})
    res = discover(frame, target="loss", features=["N", "D"], engines=["grammar", "operon"], time_budget=6,
                   bootstrap=0, catalog=False, split="compute:0.2")
    data = res.to_dict()
    engines = {e["name"]: e for e in data["engines"]}
    # an equal share each, planned inside the 6 s (part of it kept for scoring what they hand over)
    assert engines["grammar"]["budget_s"] == engines["operon"]["budget_s"] and 0 < engines["grammar"]["budget_s"] <= 3.0
    assert engines["operon"]["status"] == "ok" and engines["operon"]["n_laws"] > 0
    provenances = [law["provenance"] for law in data["laws"]]
    assert "engine: operon, seed 0" in provenances and "engine: grammar, seed 0" in provenances
    keys = [(tuple(sorted(s.law.variables)), canon.skeleton(s.law)) for s in res.laws]
    assert len(keys) == len(set(keys))  # one entry per form, whichever engine proposed it


@needs_operon
def test_cli_run_with_operon(tmp_path, task_csv):
    task = _task(n=60)
    csv = task_csv(task)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "discover.cli", "run", str(csv), "--target", "loss", "--features", "N,D",
                           "--split", "compute:0.2", "--engines", "operon", "--time-budget", "5", "--bootstrap", "0",
                           "--no-catalog", "--out", str(out), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["engines"][0]["name"] == "operon" and results["engines"][0]["status"] == "ok"
    assert results["laws"]
    text = json.dumps(results["laws"])
    assert "engine: operon, seed 0" in text
    assert "X1" not in text and "z0" not in text
