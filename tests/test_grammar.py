"""The grammar engine: laws in the user's variables, found forms, grouped laws that carry the engine's model."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import discover
from discover import canon
from discover.engines.grammar import GrammarEngine
from discover.options import TableSpec
from discover.pipeline import prepare
from discover.search import make_task
from discover.splits import TEST, TRAIN, VAL


def _task(frame, budget=6.0, **kw):
    ds, sp = prepare(frame, TableSpec(**kw))
    task = make_task(ds, sp, [], 0, None)
    task.time_budget = budget
    task.deadline = time.monotonic() + budget
    return ds, sp, task


@pytest.fixture(scope="module")
def curve():
    n = np.geomspace(1e7, 1e10, 40)
    y = (1.8 + 400 / n**0.33) * np.exp(np.random.default_rng(0).normal(0, 0.002, 40))
    return pd.DataFrame({"params": n, "loss": y})


def test_engine_sees_no_test_rows(curve):
    ds, sp, task = _task(curve, target="loss", features=["params"], split="largest:params:0.2")
    assert len(task.y_train) == len(sp.rows(TRAIN)) and len(task.y_val) == len(sp.rows(VAL))
    test_y = set(ds.y[sp.rows(TEST)].tolist())
    assert not test_y & set(task.y_train.tolist()) and not test_y & set(task.y_val.tolist())


def test_laws_are_in_the_original_variables_and_reproduce_the_engine_fit(curve):
    ds, sp, task = _task(curve, target="loss", features=["params"], split="largest:params:0.2")
    laws = [c.law for c in GrammarEngine().propose(task)]
    assert laws
    for law in laws:
        assert set(law.variables) == {"params"} and law.provenance.startswith("engine: grammar")
    # the saturating power law is found and, refit, is the true form
    truth = discover.Law.from_formula("E + A/params**a", ["params"]).with_constants({"E": 1.8, "A": 400, "a": 0.33})
    X = {"params": curve["params"].to_numpy()}
    assert any(canon.equivalent(truth, law, X) for law in laws[:5])


@pytest.fixture(scope="module")
def grouped():
    """Six curves, one form: exponent shared, floor and scale per curve."""
    rng = np.random.default_rng(3)
    rows = []
    for g in range(6):
        n = np.geomspace(1e3, 1e6, 14)
        y = (1.0 + 0.2 * g + (5.0 + g) / n**0.4) * np.exp(rng.normal(0, 0.002, 14))
        rows += [{"size": a, "loss": b, "curve": f"c{g}", "split": "test" if i >= 11 else "train"}
                 for i, (a, b) in enumerate(zip(n, y))]
    return pd.DataFrame(rows)


def test_grouped_laws_start_from_the_engine_solution(grouped):
    ds, sp, task = _task(grouped, target="loss", features=["size"], group="curve", split="column:split")
    cands = GrammarEngine().propose(task)
    with_start = [c for c in cands if c.group_starts is not None]
    assert with_start
    tr = sp.rows(TRAIN)
    y = ds.y[tr]
    for cand in with_start:
        law = cand.law
        fitted = law.with_constants(cand.group_starts, group="curve", shared=law.shared)
        pred = fitted.predict(ds.X(tr), groups=ds.groups[tr].astype(str))
        err = float(np.sqrt(np.mean((np.log(pred) - np.log(y)) ** 2)))
        # the engine's constants, mapped from its normalised columns, give its own training error
        assert err == pytest.approx(cand.train_score, rel=1e-6), law.formula
        # shared constants are the engine's term constants; every group has the rest
        assert set(law.shared) <= set(law.params)
        assert all(set(d) == set(law.params) for d in cand.group_starts.values())


def test_per_group_variants_refit_every_constant(grouped):
    ds, sp, task = _task(grouped, target="loss", features=["size"], group="curve", split="column:split")
    laws = [c.law for c in GrammarEngine().propose(task)]
    variants = [law for law in laws if law.name.endswith("[per group]")]
    assert variants and all(law.shared == () for law in variants)
    # and dedupe keeps both a shared law and its per-group variant (same formula)
    assert len(canon.dedupe(laws)) == len(laws)


def test_grouped_discover_recommends_a_good_shared_law(grouped):
    res = discover.discover(grouped, target="loss", features=["size"], group="curve", split="column:split",
                            time_budget=8, bootstrap=5)
    best = res.best_scored
    assert best.metrics["test"]["r2"] > 0.99
    # intervals exist for the recommended law, per group
    assert best.intervals and set(best.intervals) == {f"c{g}" for g in range(6)}


def test_no_optimum_in_model_size_or_data():
    """Bowls (an interior optimum) only for hyperparameters and columns of unknown role, never sizes."""
    from discover.engines.terms import make_vars, term_library

    rng = np.random.default_rng(0)
    X = {c: 10 ** rng.uniform(1, 4, 30) for c in ("params", "tokens", "unique_tokens", "learning_rate", "vocab_size")}
    lib = term_library(make_vars(X, list(X)), kinds=("bowl",))
    centres = {t.vars[0].name for t in lib if t.kind == "bowl"}
    assert centres == {"learning_rate", "vocab_size"}
    # the centre may still move with a size
    assert any(t.kind == "bowl" and t.vars[0].name == "learning_rate" and t.vars[1].name == "params" for t in lib
               if len(t.vars) > 1)


def test_a_size_on_a_narrow_range_gets_no_linear_or_exponential_term():
    """Four model sizes over 1.4 decades are still model sizes: exp(-a*params) or c*params fit such a
    range but say nothing sensible one size further, so only a column of unknown role that spans
    under two decades (streams, bits, a proportion) is treated as bounded."""
    from discover.engines.terms import make_vars, term_library

    X = {"params": np.geomspace(1e7, 2.5e8, 12), "streams": np.tile([1.0, 2.0, 4.0, 8.0], 3)}
    vars_ = {v.name: v for v in make_vars(X, list(X))}
    assert not vars_["params"].bounded and vars_["streams"].bounded
    lib = term_library(list(vars_.values()), kinds=("lin", "exp"))
    assert {t.vars[0].name for t in lib} == {"streams", "params/streams"}


def test_data_mixing_law_with_a_size_term_is_in_the_grammar():
    """Ye et al.'s mixing law exp(-Σ t_j r_j) as one term beside a size term: the shares sum to one,
    so the last share is left out of the exponent (its weight would be one more flat direction)."""
    from discover.engines.form_law import to_law
    from discover.engines.forms import Form

    rng = np.random.default_rng(0)
    r = rng.dirichlet([1, 1, 1], 96)
    n = np.repeat(np.geomspace(2e7, 2e9, 8), 12)
    y = 1.8 + 300 / n**0.3 + 0.6 * np.exp(-1.5 * r[:, 0] - 0.8 * r[:, 1])
    frame = pd.DataFrame({"params": n, "p_web": r[:, 0], "p_code": r[:, 1], "p_books": r[:, 2], "loss": y})
    _, _, task = _task(frame, target="loss", features=["params", "p_web", "p_code", "p_books"],
                       split="largest:params:0.2")
    eng = GrammarEngine()
    eng._prepare(task)
    lib = {t.key: t for t in eng.library}
    assert "expmix(p_web,p_code)" in lib and not any("p_books" in k for k in lib if k.startswith("expmix"))
    fit = eng.evaluate(Form("id", True, (lib["expmix(p_web,p_code)"], lib["pow(params)"])))
    assert fit.train_err < 1e-6 and fit.val_err < 1e-5
    law = to_law(fit, task).law
    got = discover.fit(frame, target="loss", features=["params", "p_web", "p_code", "p_books"], laws=[law],
                       split="largest:params:0.2", bootstrap=0).best.constants
    assert sorted(round(v, 2) for v in got.values()) == [0.3, 0.6, 0.8, 1.5, 1.8, 300.0]


def test_beam_tries_first_the_terms_that_explain_the_parents_residual():
    # loss = Chinchilla-like size term + a learning-rate bowl; a parent with only the size
    # term leaves the bowl in its residual, so a learning-rate term must be screened first
    rng = np.random.default_rng(1)
    n = 10 ** rng.uniform(7, 10, 200)
    lr = 10 ** rng.uniform(-4, -2, 200)
    y = (1.8 + 400 / n**0.33 + 0.05 * (np.log(lr) - np.log(1e-3)) ** 2) * np.exp(rng.normal(0, 0.002, 200))
    frame = pd.DataFrame({"params": n, "learning_rate": lr, "loss": y})
    _, _, task = _task(frame, target="loss", features=["params", "learning_rate"], split="largest:params:0.2")
    eng = GrammarEngine()
    eng._prepare(task)
    size = next(t for t in eng.library if t.key == "pow(params)")
    parent = eng.evaluate(discover.engines.grammar.Form("id", True, (size,)))
    order = eng._children([parent], np.random.default_rng(0))
    first = [t for _, t in order[:3]]
    assert all("learning_rate" in t.key for t in first), [t.key for t in first]
    # without screening the order is the seeded shuffle, where a learning-rate term first is luck
    gains = eng._screen(parent, [t for _, t in order])
    assert gains == sorted(gains, reverse=True)


def test_reductions_drop_a_term_or_make_one_simpler():
    from discover.engines.forms import Form
    from discover.engines.grammar import _reductions

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"params": 10 ** rng.uniform(7, 9, 30), "tokens": 10 ** rng.uniform(9, 11, 30),
                          "learning_rate": 10 ** rng.uniform(-4, -2, 30)})
    frame["loss"] = 2.0 + 100 / frame.params**0.3
    _, _, task = _task(frame, target="loss", features=["params", "tokens", "learning_rate"],
                       split="largest:params:0.2")
    eng = GrammarEngine()
    eng._prepare(task)
    by_key = {t.key: t for t in eng.library}
    form = Form("id", True, (by_key["bowl(learning_rate,params,tokens)"], by_key["pow2(params,tokens)"]))
    got = {"+".join(sorted(t.key for t in f.terms)) for f in _reductions(form, by_key)}
    assert got == {
        "pow2(params,tokens)", "bowl(learning_rate,params,tokens)",  # a term dropped
        "bowl(learning_rate,tokens)+pow2(params,tokens)", "bowl(learning_rate,params)+pow2(params,tokens)",
        "bowl(learning_rate,params,tokens)+pow(params)", "bowl(learning_rate,params,tokens)+pow(tokens)",
    }
    assert all(f.link == "id" and f.intercept for f in _reductions(form, by_key))
    # a modulated power also splits into two plain powers: the Chinchilla neighbour, as many constants
    form = Form("id", True, (by_key["bowl(learning_rate)"], by_key["powmod(tokens,params)"]))
    got = {"+".join(sorted(t.key for t in f.terms)) for f in _reductions(form, by_key)}
    assert got == {"powmod(tokens,params)", "bowl(learning_rate)", "bowl(learning_rate)+pow(tokens)",
                   "bowl(learning_rate)+pow(params)+pow(tokens)"}


def test_max_forms_ends_the_search_on_a_form_count_so_the_clock_does_not_matter(curve):
    frame = curve.assign(tokens=np.geomspace(1e9, 1e12, len(curve))[::-1])
    runs = []
    for budget in (1e4, 2e4):  # deadlines far away: only the form count can end the search
        _, _, task = _task(frame, budget=budget, target="loss", features=["params", "tokens"],
                           split="largest:params:0.2")
        eng = GrammarEngine(max_forms=120)
        laws = [c.law for c in eng.propose(task)]
        assert 100 <= eng.n_tried <= 120
        assert any(len(f.form.terms) >= 3 for f in eng.evaluated.values() if f is not None)  # levels shared the count
        runs.append([(law.formula, law.constants) for law in laws])
    assert runs[0] == runs[1]
    assert task.time_left > 0.99 * task.time_budget  # the clock played no part (unbounded, it tries hundreds more)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_max_forms_must_be_a_positive_integer(bad):
    with pytest.raises(discover.DataError, match="max_forms"):
        GrammarEngine(max_forms=bad)


def test_unknown_engine_options_are_named_before_anything_is_written(curve, tmp_path):
    with pytest.raises(discover.DataError, match="does not take"):
        discover.discover(curve, target="loss", features=["params"], split="largest:params:0.2", time_budget=5,
                          engine_options={"grammar": {"max_form": 10}}, checkpoint=tmp_path / "ck")
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("extra", [["--max-forms", "0"], ["--max-forms", "50", "--engines", "operon"]])
def test_cli_bad_max_forms_is_one_line_exit_2_and_writes_nothing(curve, tmp_path, extra):
    import subprocess
    import sys

    table = tmp_path / "runs.csv"
    curve.to_csv(table, index=False)
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "discover.cli", "run", str(table), "--target", "loss",
                        "--features", "params", "--split", "largest:params:0.2", *extra,
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "--max-forms" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


def test_a_feature_that_never_varies_is_a_one_line_error(curve, tmp_path):
    """A constant column gives the search nothing to learn, but lets forms and the catalog's positional
    binding use it as a free constant (Hoffmann's B/seq_len**beta); the user is told to leave it out."""
    flat = curve.assign(seq_len=2048.0)
    with pytest.raises(discover.DataError, match="'seq_len' is constant"):
        discover.discover(flat, target="loss", features=["params", "seq_len"], split="largest:params:0.2",
                          time_budget=5, checkpoint=tmp_path / "ck")
    assert not (tmp_path / "ck").exists()


def test_every_term_written_in_the_users_variables_is_the_column_the_search_fitted():
    """Term.sympy (original units, carried-over starts) must be an affine image of Term.column (the
    normalised units the search fits in): a slip in the carry-over would hand the fitter a law
    that starts far from what the engine found."""
    from discover.engines.terms import make_vars, term_library

    rng = np.random.default_rng(1)
    X = {"params": 10 ** rng.uniform(7, 9, 40), "tokens": 10 ** rng.uniform(9, 11, 40),
         "learning_rate": 10 ** rng.uniform(-4, -2, 40), "streams": rng.choice([1.0, 2.0, 4.0], 40),
         "log_flops": rng.uniform(-0.9, 2.9, 40)}
    X["unique_tokens"] = X["tokens"] / rng.uniform(1, 1.4, 40)
    lib = term_library(make_vars(X, list(X)))
    kinds = {t.kind for t in lib}
    assert {"sq", "sigm", "lin", "exp"} <= kinds and "bpl" in kinds and "repeat" in kinds
    for t in lib:
        for th in t.inits():
            col = t.column([v.values(X) for v in t.vars], th)
            names = [f"k{i}" for i in range(t.n_theta)]
            expr, starts, _ = t.sympy(th, names)
            syms = sorted(expr.free_symbols, key=str)
            args = [X[str(s)] if str(s) in X else starts[str(s)] for s in syms]
            got = np.broadcast_to(discover.law.compile_numpy(syms, expr)(*args), col.shape)
            A = np.column_stack([col, np.ones_like(col)])
            coef, *_ = np.linalg.lstsq(A, got, rcond=None)
            assert np.allclose(A @ coef, got, rtol=1e-7, atol=1e-9 * np.abs(got).max()), (t.key, th)


def test_a_log_axis_column_gets_shift_terms_and_no_catalog_role():
    """log_flops (signed, a logarithm already) is not compute: no catalog law reads it as C, and the
    engine gives it the terms of a log axis (linear, exponential, a quadratic bowl, a sigmoid)."""
    from discover.roles import match_role
    from discover.engines.terms import make_vars, term_library

    assert match_role("log_flops") is None and match_role("log10_params") is None and match_role("flops") == "C"
    X = {"log_flops": np.linspace(0.2, 2.9, 30)}  # positive, yet still a log axis by its name
    lib = term_library(make_vars(X, list(X)))
    assert {t.kind for t in lib} >= {"lin", "exp", "sq", "sigm"}
    X = {"params": np.geomspace(1e7, 1e9, 30)}
    assert not {"sq", "sigm"} & {t.kind for t in term_library(make_vars(X, list(X)))}


def test_twin_terms_come_after_their_original_and_go_first():
    """With one feature a form may hold two terms of one kind on it (A N^-a + B N^-b). A twin never
    stands alone (it would be its original again): the beam adds it only beside its original, and a
    reduction drops the twin rather than the original. With two features (Chinchilla's table) pairs
    of token powers fitted the rows far better than any law (BIC 80 lower), so the BIC veto chose
    one, and it extrapolated worse than the refit Chinchilla law: no twins there."""
    from discover.engines.forms import Form
    from discover.engines.grammar import _reductions

    n = np.geomspace(1e6, 1e10, 40)
    frame = pd.DataFrame({"params": n, "loss": 1.5 + 40 / n**0.25 + 3e3 / n**0.6})
    _, _, task = _task(frame, target="loss", features=["params"], split="largest:params:0.2")
    eng = GrammarEngine()
    eng._prepare(task)
    by_key = {t.key: t for t in eng.library}
    assert "pow'(params)" in by_key and "bpl'(params)" not in by_key
    parent = eng.evaluate(Form("id", True, (by_key["pow(params)"],)))
    lone = eng.evaluate(Form("id", True, (by_key["log(params)"],)))
    pairs = eng._children([parent, lone], np.random.default_rng(0))
    assert (parent, by_key["pow'(params)"]) in pairs and (lone, by_key["pow'(params)"]) not in pairs
    two = Form("id", True, (by_key["pow(params)"], by_key["pow'(params)"]))
    assert [[t.key for t in f.terms] for f in _reductions(two, by_key)] == [["pow(params)"]]
    fit = eng.evaluate(two, parent)
    assert fit.val_err < 1e-4 < eng.evaluate(Form("id", True, (by_key["pow(params)"],))).val_err
    from discover.engines.terms import make_vars, term_library
    two = {c: 10 ** np.random.default_rng(0).uniform(1, 4, 30) for c in ("params", "tokens")}
    assert not any(t.twin for t in term_library(make_vars(two, list(two))))


def test_forms_that_only_extend_a_better_one_are_not_handed_over():
    """A form that is a better-ranked form plus terms bought nothing with its extra constants:
    handing twenty such variants over made the pipeline's refits cost three times the search."""
    from discover.engines.forms import Form
    from discover.engines.grammar import _extends

    n = np.geomspace(1e6, 1e10, 40)
    frame = pd.DataFrame({"params": n, "loss": 1.5 + 40 / n**0.25})
    _, _, task = _task(frame, target="loss", features=["params"], split="largest:params:0.2")
    eng = GrammarEngine()
    eng._prepare(task)
    by_key = {t.key: t for t in eng.library}
    base = Form("id", True, (by_key["pow(params)"],))
    more = Form("id", True, (by_key["pow(params)"], by_key["log(params)"]))
    assert _extends(more, base) and not _extends(base, more) and not _extends(base, base)
    assert _extends(base, Form("id", False, (by_key["pow(params)"],)))
    assert not _extends(Form("pow", True, more.terms), base)
    fits = [eng.evaluate(f) for f in (base, more, Form("id", True, (by_key["sat(params)"],)))]
    assert fits[1].val_err >= fits[0].val_err  # the truth is the base: the extension ranks below it
    top = eng._top(fits, 5, no_extensions=True)
    assert fits[0] in top and fits[2] in top and fits[1] not in top
    assert fits[1] in eng._top(fits, 5)


def test_a_u_shaped_score_against_log_flops_is_found_per_group():
    """Downstream scores that first worsen then improve with log compute (signed log_flops, several
    tasks). Before the log-axis terms the engine had only a line and an exponential there; its best
    form on this table was exp + line, validation error 0.0086 (the bowl: 0.0063, noise 0.005)."""
    rng = np.random.default_rng(0)
    rows = []
    for g, (m, c) in enumerate([(0.8, 0.05), (1.2, 0.04), (1.0, 0.06)]):
        for x in np.linspace(-0.9, 2.9, 40):
            rows.append({"task": f"t{g}", "log_flops": x, "score": -(0.3 + c * (x - m) ** 2) + rng.normal(0, 0.005)})
    frame = pd.DataFrame(rows)
    _, _, task = _task(frame, target="score", features=["log_flops"], group="task", split="largest:log_flops:0.2")
    eng = GrammarEngine(max_forms=150)
    laws = [c.law for c in eng.propose(task)]
    fits = sorted((f for f in eng.evaluated.values() if f is not None), key=lambda f: f.val_err)
    assert any(t.kind == "sq" for t in fits[0].form.terms)
    assert fits[0].val_err < 0.0075  # noise 0.005 (raw residuals: the score is negative)
    assert any("(log_flops - a" in law.formula for law in laws)


def test_stack_solves_each_groups_own_least_squares_on_unbalanced_groups():
    """Groups of 3, 12 and 60 rows (and a group with no rows here): the flat layout's batched
    solve gives each group the coefficients of its own least-squares fit, and none to the
    group without rows; rows of a group outside the fitted groups are left out."""
    from discover.engines.forms import Form, FormEval, Stack
    from discover.engines.terms import make_vars, term_library

    rng = np.random.default_rng(0)
    sizes = {"a": 3, "b": 12, "c": 60}
    groups = np.concatenate([[g] * n for g, n in sizes.items()] + [["stranger"] * 4])
    x = np.exp(rng.uniform(0, 5, len(groups)))
    y = np.exp(rng.normal(0, 0.1, len(groups))) + 1.0
    X = {"x": x}
    pow_x = next(t for t in term_library(make_vars(X, ["x"]), ("pow",)) if t.key == "pow(x)")
    st = Stack(X, y, True, rng.permutation(len(groups)), groups, ["b", "a", "empty", "c"])
    assert st.n == 75 and list(st.counts) == [12, 3, 0, 60]
    fe = FormEval(Form("id", True, (pow_x,)), True, 1.0)
    eta = np.array([0.4])
    coef, lin = fe.solve(st, eta)
    F, t, w = fe.design(st, eta)
    for gi, g in enumerate(["b", "a", "empty", "c"]):
        rows = st.gidx == gi
        if not rows.any():
            assert np.all(coef[gi] == 0)
            continue
        own = np.linalg.lstsq(F[rows] * w[rows, None], t[rows] * w[rows], rcond=None)[0]
        np.testing.assert_allclose(coef[gi], own, rtol=1e-8)
        np.testing.assert_allclose(lin[rows], F[rows] @ own, rtol=1e-8)
    pad = st.padded(st.y)
    assert pad.shape == (4, 60) and np.all(pad[2] == 0)
    np.testing.assert_allclose(np.sort(pad[1][:3]), np.sort(y[groups == "a"]))


def test_no_quadratic_in_the_log_of_a_size_or_of_training_steps():
    # (log x/s)^2 is a bowl with its optimum at s: never in parameters, data, compute or steps
    from discover.engines.terms import make_vars, term_library
    X = {"params": np.geomspace(1e7, 1e9, 20), "Step": np.geomspace(1e3, 1e5, 20), "lr": np.geomspace(1e-4, 1e-2, 20)}
    lib = term_library(make_vars(X, list(X)))
    squared = {t.vars[0].name for t in lib if t.kind == "log2"}
    assert squared == {"lr"}


@pytest.mark.parametrize("link,kinds,grouped", [("id", ("pow", "pow"), False), ("id", ("pow", "log"), True),
                                                ("log", ("log", "pow"), False), ("fexp", ("pow", "pow"), True),
                                                ("pow", ("pow", "pow"), False)])
def test_batched_jacobian_is_the_residuals_finite_difference(link, kinds, grouped):
    """The search's Jacobian (every step's linear problems solved in one batch, only the moved
    term's column recomputed) is the forward difference of the residual, step by step, on each
    link, with and without groups, with constants of either sign and at their bounds."""
    from scipy.optimize._numdiff import approx_derivative

    from discover.engines.forms import Form, FormEval, Stack
    from discover.engines.terms import make_vars, term_library

    rng = np.random.default_rng(1)
    n = 80
    groups = np.array(["a", "b", "c", "d"] * (n // 4)) if grouped else np.full(n, "_all")
    X = {"x": np.exp(rng.uniform(0, 5, n)), "y": np.exp(rng.uniform(0, 4, n))}
    y = 2.0 + 3.0 * X["x"] ** -0.3 + X["y"] ** -0.5 + rng.normal(0, 0.01, n)
    lib = {t.key: t for t in term_library(make_vars(X, ["x", "y"]), set(kinds))}
    terms = (lib[f"{kinds[0]}(x)"], lib[f"{kinds[1]}(y)"])
    form = Form(link, link != "pow", terms)
    assert form.valid()
    st = Stack(X, y, True, np.arange(n), groups, list(dict.fromkeys(groups.tolist())))
    fe = FormEval(form, True, float(np.std(y)))
    eta = np.clip(rng.uniform(-0.8, 0.8, form.n_theta), fe.lo, fe.hi)
    eta[-1] = fe.hi[-1]  # at its bound: the step goes down
    eta[0] = fe.lo[0] if np.isfinite(fe.lo[0]) and fe.lo[0] < 0 else eta[0]  # a negative lower bound: up
    J = fe.jacobian(st, eta)
    ref = approx_derivative(lambda e: fe.residual(st, e), eta, method="2-point", bounds=(fe.lo, fe.hi))
    assert J.shape == (n, form.n_theta)
    assert np.abs(ref).max() > 0
    np.testing.assert_allclose(J, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


def test_a_search_with_time_to_spare_widens_its_beam_until_no_form_is_new(curve):
    """A narrow beam that has run every level with budget left searches again wider, so with time
    enough it tries the forms a beam wide enough to hold all of them tries, and then stops. (Nearly
    all: a form is fitted from its first parent's constants, and a fit that fails from one parent
    can succeed from another, so the two searches differ by a form or two. One pass two forms wide
    tries about a third of them.)"""
    tried = {}
    for beam in (2, 100_000):
        _, _, task = _task(curve, budget=600.0, target="loss", features=["params"], split="largest:params:0.2")
        eng = GrammarEngine(beam=beam, max_terms=3)
        eng.propose(task)
        tried[beam] = {key for key, f in eng.evaluated.items() if f is not None}
    assert len(tried[2] & tried[100_000]) >= 0.95 * len(tried[100_000])
