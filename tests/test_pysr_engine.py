"""The PySR engine: hall-of-fame parsing (recorded files), the search set-up, and life without Julia.

Julia is not needed for most of this file: the hall of fame is read from files
written by hand in PySR's format, and the regressor's arguments are built and
checked without importing ``pysr`` (which would start, or download, Julia).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from discover.engines import EngineTask, get_engine
from discover.engines import pysr as pysr_engine
from discover.engines.pysr import (
    LOG_LOSS,
    PySREngine,
    Template,
    julia_status,
    law_guess,
    parse_hall_of_fame,
    read_hall_of_fame,
    regressor_kwargs,
)
from discover.errors import DataError
from discover.candidate import Candidate
from discover.law import Law

FIX = Path(__file__).parent / "fixtures" / "pysr"
ROOT = Path(__file__).resolve().parents[1]

# The normalisation the recorded searches used: z = (log x - mu) / sd.
MU_N, SD_N, MU_D, SD_D = 20.1, 1.7, 23.4, 1.1
VMAP = {"z0": f"(log(N) - {MU_N})/{SD_N}", "z1": f"(log(D) - {MU_D})/{SD_D}"}

JULIA = julia_status()[0]
PYSR_INSTALLED = importlib.util.find_spec("pysr") is not None


def _inputs(n=25, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 11.5, n)
    return {"N": N, "D": D}, (np.log(N) - MU_N) / SD_N, (np.log(D) - MU_D) / SD_D


# What each recorded equation computes, written out by hand (z0, z1 are the normalised inputs).
PLAIN = {
    3: lambda z0, z1: 2.4017 - z0,
    5: lambda z0, z1: np.exp(z0 * -0.58214) + 1.8723,
    7: lambda z0, z1: (np.exp(-0.61027 * z0) * 0.87149) + (1.6620 - (0.11392 * z1)),
    9: lambda z0, z1: 0.43102 * np.exp(z0 * -0.61044) + 0.38177 * np.exp(-0.47312 * z1) + 1.6931,
    11: lambda z0, z1: 0.43102 * np.exp(z0 * -0.61044) + 0.38177 / np.exp(0.47312 * z1) + 1.6931 + z1 ** 2.0 * 1.0e-5,
    13: lambda z0, z1: 0.42 * np.exp(z0) ** -0.61 + 0.38 * np.exp(-0.47 * z1) + 1.69 + (-3.5e-4 * np.log(np.exp(z0 * 0.5))),
}


def _value(cand: Candidate, X):
    return cand.law.evaluate(X, cand.start)


# ---------------------------------------------------------------------------- parsing
def test_reads_pysr_columns_and_lowercase_frames():
    frame = read_hall_of_fame(FIX / "hall_of_fame.csv")
    assert list(frame.columns) == ["complexity", "loss", "equation"]
    again = read_hall_of_fame(frame.rename(columns=str.capitalize))
    assert len(again) == len(frame)
    with pytest.raises(DataError, match="Equation"):
        read_hall_of_fame(pd.DataFrame({"Complexity": [1], "Loss": [0.1]}))
    with pytest.raises(DataError, match="cannot read"):
        read_hall_of_fame(FIX / "missing.csv")


def test_parses_hall_of_fame_into_laws_in_original_variables():
    cands = parse_hall_of_fame(FIX / "hall_of_fame.csv", VMAP, seed=3)
    # the constant-only row (complexity 1) is no law; every other row is one
    assert [c.engine_complexity for c in cands] == [3, 5, 7, 9, 11, 13]
    for cand in cands:
        law = cand.law
        assert law.provenance == "engine: pysr, seed 3"
        assert set(law.variables) <= {"N", "D"}
        assert {str(s) for s in law.expr.free_symbols} <= {"N", "D"} | set(law.params)
        assert not any(str(s).startswith("z") for s in law.expr.free_symbols)
        assert set(cand.start) == set(law.params)
        assert all(p.init for p in law.params.values())


def test_parsed_laws_reproduce_the_equations_numerically():
    X, z0, z1 = _inputs()
    cands = {c.engine_complexity: c for c in parse_hall_of_fame(FIX / "hall_of_fame.csv", VMAP)}
    for complexity, f in PLAIN.items():
        np.testing.assert_allclose(_value(cands[complexity], X), f(z0, z1), rtol=1e-9,
                                   err_msg=f"complexity {complexity}: {cands[complexity].law.formula}")


def test_normalisation_is_undone_into_power_laws():
    cands = {c.engine_complexity: c for c in parse_hall_of_fame(FIX / "hall_of_fame.csv", VMAP)}
    law = cands[9].law
    # 0.43 exp(-0.61 z0) is A * N**alpha in the user's variable: a power of N, no log/exp left
    assert not law.expr.has(sympy.exp) and not law.expr.has(sympy.log)
    powers = [p for p in sympy.preorder_traversal(law.expr) if isinstance(p, sympy.Pow) and p.exp.free_symbols]
    assert {str(p.base) for p in powers} == {"N", "D"}
    exps = {str(p.base): cands[9].start[str(next(iter(p.exp.free_symbols)))] for p in powers}
    assert exps["N"] == pytest.approx(0.61044 / SD_N)  # written A/N**alpha with alpha > 0, as published laws are
    assert exps["D"] == pytest.approx(0.47312 / SD_D)
    assert law.n_constants == 5  # E + A/N^a + B/D^b
    assert law.formula.count("/") == 2


def test_log_target_laws_are_exponentiated():
    X, z0, z1 = _inputs()
    cands = {c.engine_complexity: c for c in parse_hall_of_fame(FIX / "hall_of_fame.csv", VMAP, log_target=True)}
    np.testing.assert_allclose(_value(cands[7], X), np.exp(PLAIN[7](z0, z1)), rtol=1e-9)


def test_template_output_is_parsed_with_its_parameters():
    X, z0, z1 = _inputs()
    t = Template.from_text("E + f(N) + g(D)", ["z0", "z1"], rename={"N": "z0", "D": "z1"})
    assert t.expressions == ["f", "g"] and t.scalars == ["E"]
    assert t.spec_kwargs() == {"expressions": ["f", "g"], "variable_names": ["z0", "z1"],
                               "combine": "((E[1] + f(z0)) + g(z1))", "parameters": {"E": 1}}
    laws = parse_hall_of_fame(FIX / "hall_of_fame_template.csv", VMAP, template=t, seed=1)
    by_c = {c.engine_complexity: c for c in laws}
    assert sorted(by_c) == [2, 6, 8]
    np.testing.assert_allclose(_value(by_c[2], X), 2.4012 - 0.1301 * z0, rtol=1e-9)
    np.testing.assert_allclose(_value(by_c[6], X), 1.6620 + 0.87149 * np.exp(-0.61027 * z0) - 0.11392 * z1, rtol=1e-9)
    np.testing.assert_allclose(_value(by_c[8], X), PLAIN[9](z0, z1), rtol=1e-9)
    assert "E" in by_c[8].law.params and by_c[8].start["E"] == pytest.approx(1.6931)
    assert by_c[8].law.provenance == "engine: pysr, seed 1"


def test_grouped_template_gives_per_group_offset_and_scale():
    t = pysr_engine.default_group_template(["z0", "z1"], n_groups=3)
    kw = t.spec_kwargs()
    assert kw["variable_names"] == ["z0", "z1", "grp"]
    assert kw["parameters"] == {"b": 3, "a": 3}
    assert kw["combine"] == "(b[grp] + (a[grp] * f(z0, z1)))"
    laws = parse_hall_of_fame(FIX / "hall_of_fame_grouped.csv", VMAP, template=t, grouped=True)
    assert len(laws) == 2
    X, z0, z1 = _inputs()
    law = laws[1].law
    assert set(law.shared) == set(law.params) - {"a", "b"}  # the form is shared, a and b per group
    assert laws[1].group_vectors == {"b": [1.71, 2.08, 1.93], "a": [0.41, 0.52, 0.44]}
    values = dict(laws[1].start, a=0.52, b=2.08)  # group 2's parameters
    np.testing.assert_allclose(law.evaluate(X, values), 2.08 + 0.52 * np.exp(-0.55 * z0 - 0.2 * z1), rtol=1e-9)


def test_hostile_equations_are_rejected_not_run(tmp_path):
    marker = tmp_path / "pwned"
    errors: list[str] = []
    laws = parse_hall_of_fame(FIX / "hall_of_fame_hostile.csv", VMAP, errors=errors)
    assert len(laws) == 1 and laws[0].engine_complexity == 5  # only the honest row
    assert len(errors) == 13
    assert not marker.exists()
    t = Template.from_text("E + f(z0) + g(z1)", ["z0", "z1"])
    errors = []
    laws = parse_hall_of_fame(FIX / "hall_of_fame_template_hostile.csv", VMAP, template=t, errors=errors)
    assert len(laws) == 1 and len(errors) == 7


@pytest.mark.parametrize("text", ["__import__('os')", "f(z0).real", "f(z0)[0]", "lambda: f(z0)", "f(z0, k=1)",
                                  "E + 'x'", "a[0] + f(z0)", "f(z0) + f(z0, z1)", "exp + f(z0)", "E", "z0 # f(z0)",
                                  "a[group] + f(z0)"])
def test_bad_templates_are_rejected(text):
    with pytest.raises(DataError):
        Template.from_text(text, ["z0", "z1"])


def test_variable_map_may_be_sympy():
    N = sympy.Symbol("N", positive=True)
    laws = parse_hall_of_fame(pd.DataFrame({"Complexity": [5], "Loss": [0.1], "Equation": ["exp(z0 * -0.5) + 1.8"]}),
                              {"z0": (sympy.log(N) - 20) / 2})
    assert laws[0].law.variables == ("N",)
    assert _value(laws[0], {"N": np.array([math.exp(22.0)])})[0] == pytest.approx(math.exp(-0.5) + 1.8)


# ---------------------------------------------------------------------------- the search set-up
def _task(n=40, grouped=False, seed=2, known=()):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 11, n)
    y = 1.7 + 400 / N ** 0.34 + 410 / D ** 0.28
    g = np.array(["a", "b"] * (n // 2)) if grouped else None
    cut = int(0.8 * n)
    return EngineTask(X_train={"N": N[:cut], "D": D[:cut]}, y_train=y[:cut], X_val={"N": N[cut:], "D": D[cut:]},
                      y_val=y[cut:], features=["N", "D"], target="loss", time_budget=20, seed=seed,
                      groups_train=None if g is None else g[:cut], groups_val=None if g is None else g[cut:],
                      known_laws=list(known))


def _chinchilla():
    return Law.from_formula("E + A/N**alpha + B/D**beta", ["N", "D"], published={"E": 1.69, "A": 406.4, "B": 410.7,
                                                                                  "alpha": 0.34, "beta": 0.28})


def test_regressor_arguments_for_scaling_laws():
    kw = regressor_kwargs(seed=7, timeout=12.5, log_loss=True, deterministic=True)
    assert kw["binary_operators"] == ["+", "-", "*", "/", "^"]
    assert kw["unary_operators"] == ["exp", "log"]
    assert kw["constraints"] == {"^": (-1, 1)}
    assert kw["nested_constraints"]["^"] == {"^": 0, "exp": 0, "log": 0}
    assert kw["precision"] == 64 and kw["random_state"] == 7 and kw["timeout_in_seconds"] == 12.5
    assert kw["elementwise_loss"] == LOG_LOSS and "log(prediction) - log(target)" in LOG_LOSS
    assert kw["deterministic"] is True and kw["parallelism"] == "serial"
    plain = regressor_kwargs(seed=0, timeout=5, log_loss=False, extra={"procs": 4})
    assert "elementwise_loss" not in plain and "deterministic" not in plain and plain["procs"] == 4


def test_setup_uses_budget_seed_log_inputs_and_catalog_guesses():
    task = _task(known=[_chinchilla()])
    plan = PySREngine(deterministic=True).setup(task)
    assert plan["variable_names"] == ["z0", "z1"]
    np.testing.assert_allclose(plan["X"].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(plan["X"].std(axis=0), 1, atol=1e-12)
    kw = plan["kwargs"]
    assert kw["random_state"] == 2 and 5 < kw["timeout_in_seconds"] <= 20
    assert kw["elementwise_loss"] == LOG_LOSS  # positive target: log residuals
    assert kw["parallelism"] == "serial"
    (guess,) = kw["guesses"]
    assert "**" not in guess and "z0" in guess and "z1" in guess and "N" not in guess
    # the guess, read back in the original variables, is the catalog law with its published constants
    back = parse_hall_of_fame(pd.DataFrame({"Complexity": [9], "Loss": [0.0], "Equation": [guess]}),
                              plan["transform"].inverse_map())
    law = _chinchilla()
    np.testing.assert_allclose(_value(back[0], task.X_val), law.evaluate(task.X_val, law.published), rtol=1e-8)
    log_plan = PySREngine(log_target=True).setup(task)
    assert "elementwise_loss" not in log_plan["kwargs"]
    np.testing.assert_allclose(log_plan["y"], np.log(task.y_train))


def test_setup_with_groups_and_templates():
    plan = PySREngine().setup(_task(grouped=True))
    assert plan["variable_names"] == ["z0", "z1", "grp"]
    assert set(plan["X"][:, 2]) == {1.0, 2.0}
    assert plan["template"].per_group == ["b", "a"]
    assert "guesses" not in plan["kwargs"]
    plan = PySREngine(template="E + f(N) + g(D)").setup(_task())
    assert plan["template"].spec_kwargs()["combine"] == "((E[1] + f(z0)) + g(z1))"
    with pytest.raises(DataError):
        PySREngine(template="E + f(N) + g(tokens)").setup(_task())  # sub-expressions take features only
    with pytest.raises(DataError):
        PySREngine(template="__import__('os')").setup(_task())


def test_law_guess_skips_what_pysr_cannot_read():
    bent = Law.from_formula("E + A*Min(N, D)**alpha", ["N", "D"])
    assert law_guess(bent, {"N": sympy.Symbol("z0"), "D": sympy.Symbol("z1")}) is None
    other = Law.from_formula("E + A/T**alpha", ["T"])
    assert law_guess(other, {"N": sympy.Symbol("z0")}) is None


def test_regressor_arguments_are_accepted_by_the_installed_pysr():
    """Read PySRRegressor's signature from its source (importing pysr would start Julia)."""
    spec = importlib.util.find_spec("pysr")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pysr is not installed (pip install 'discover[pysr]')")
    source = Path(list(spec.submodule_search_locations)[0]) / "sr.py"
    tree = ast.parse(source.read_text())
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "PySRRegressor")
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    accepted = {a.arg for a in init.args.args + init.args.kwonlyargs}
    kw = regressor_kwargs(seed=0, timeout=5, log_loss=True, deterministic=True, guesses=["z0"], output_directory="/tmp")
    assert set(kw) <= accepted, set(kw) - accepted


# ---------------------------------------------------------------------------- without Julia
@pytest.fixture
def no_julia(monkeypatch, tmp_path):
    for var in ("PYTHON_JULIAPKG_EXE", "JULIA_DEPOT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHON_JULIAPKG_PROJECT", str(tmp_path / "julia_env"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    return tmp_path


def test_unavailable_without_julia_says_how_to_fix(no_julia, monkeypatch):
    monkeypatch.setattr(pysr_engine.importlib.util, "find_spec", lambda name: object() if name == "pysr" else None)
    ok, why = get_engine("pysr").available()
    assert not ok
    assert "Julia" in why and "pip install pysr" in why and "PYTHON_JULIAPKG_EXE" in why
    assert "PYTHON_JULIAPKG_OFFLINE=yes" in why
    assert why.endswith(".") and why.count(". ") == 0  # one sentence
    with pytest.raises(RuntimeError, match="Julia"):
        PySREngine().propose(_task())  # never imports pysr without Julia


def test_unavailable_without_pysr(monkeypatch):
    monkeypatch.setattr(pysr_engine.importlib.util, "find_spec", lambda name: None)
    ok, why = get_engine("pysr").available()
    assert not ok and "pip install" in why and "Julia" in why


def test_julia_is_found_without_running_it(no_julia, monkeypatch):
    fake = no_julia / "bin" / "julia"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    assert pysr_engine.find_julia() == str(fake)  # on PATH
    fake.unlink()
    assert pysr_engine.find_julia() is None
    meta = no_julia / "julia_env" / "pyjuliapkg" / "meta.json"
    meta.parent.mkdir(parents=True)
    exe = no_julia / "julia-1.10" / "bin" / "julia"
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    meta.write_text(json.dumps({"executable": str(exe)}))
    assert pysr_engine.find_julia() == str(exe)  # installed by juliapkg
    monkeypatch.setenv("PYTHON_JULIAPKG_EXE", str(no_julia / "nowhere" / "julia"))
    assert pysr_engine.find_julia() is None  # an explicit setting that points nowhere is not overridden


def test_discover_skips_pysr_with_a_warning_and_carries_on(no_julia, monkeypatch):
    from discover.search import discover

    monkeypatch.setattr(pysr_engine.importlib.util, "find_spec", lambda name: object() if name == "pysr" else None)
    task = _task(n=40)
    frame = pd.DataFrame({"N": np.concatenate([task.X_train["N"], task.X_val["N"]]),
                          "D": np.concatenate([task.X_train["D"], task.X_val["D"]]),
                          "loss": np.concatenate([task.y_train, task.y_val])})
    res = discover(frame, target="loss", features=["N", "D"], engines=["grammar", "pysr"], time_budget=4,
                   bootstrap=0, catalog=False)
    info = {e["name"]: e for e in res.to_dict()["engines"]}
    assert info["pysr"]["status"] == "unavailable" and "Julia" in info["pysr"]["reason"]
    assert info["grammar"]["status"] == "ok"
    assert any("engine pysr skipped" in w for w in res.to_dict()["warnings"])


def test_cli_run_without_julia_exits_zero(tmp_path, task_csv):
    if julia_status()[0]:
        pytest.skip("Julia is available here; this checks the path without it")
    task = _task(n=40)
    csv = task_csv(task)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "discover.cli", "run", str(csv), "--target", "loss", "--features", "N,D",
                           "--engines", "grammar,pysr", "--time-budget", "4", "--bootstrap", "0", "--no-catalog",
                           "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert any("engine pysr skipped" in w and "Julia" in w for w in results["warnings"])


# ---------------------------------------------------------------------------- with Julia only
def test_constructs_a_real_regressor():
    if not PYSR_INSTALLED:
        pytest.skip("pysr is not installed (pip install 'discover[pysr]')")
    if not JULIA:
        pytest.skip("importing pysr needs a Julia runtime (it would try to download one): " + julia_status()[1])
    import pysr

    plan = PySREngine(template="E + f(N) + g(D)").setup(_task())
    model = pysr.PySRRegressor(**plan["kwargs"],
                               expression_spec=pysr.TemplateExpressionSpec(**plan["template"].spec_kwargs()))
    assert model.get_params()["precision"] == 64


def test_live_search_returns_laws():
    if not JULIA:
        pytest.skip("no Julia runtime here, so no live PySR search: " + julia_status()[1])
    task = _task()
    task.time_budget = 20
    import time

    task.deadline = time.monotonic() + 20
    laws = PySREngine(deterministic=True).propose(task)
    assert laws and all(c.law.provenance == "engine: pysr, seed 2" for c in laws)
    assert all(set(c.law.variables) <= {"N", "D"} for c in laws)
