"""Tests of the catalog of published scaling laws (discover.catalog)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from discover import catalog
from discover import roles
from discover.errors import DataError
from discover.formula import parse_formula
from discover.law import Law

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SLD = DATA / "sld"
CHINCHILLA = DATA / "chinchilla" / "hoffmann2022_fig4.csv"

ARXIV = re.compile(r"arXiv:\d{4}\.\d{4,5}")


def r2(y, yhat):
    y = np.asarray(y, float)
    return 1.0 - np.mean((y - yhat) ** 2) / np.var(y)


# ------------------------------------------------------------ the registry
def test_names_sorted_unique_and_many():
    names = catalog.names()
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert len(names) >= 12


def test_at_least_twelve_families():
    fams = {catalog.entry(n).family for n in catalog.names()}
    assert len(fams) >= 12
    assert set(catalog.families()) == fams


@pytest.mark.parametrize("name", catalog.names())
def test_every_law_is_well_formed(name):
    law = catalog.get(name)
    assert isinstance(law, Law)
    assert law.name == name
    assert law.complexity > 0
    assert law.citation and ARXIV.search(law.citation), law.citation
    assert law.provenance.startswith("catalog: ")
    assert law.description
    # Variables are role names (r1.. for the variadic role).
    for v in law.variables:
        assert v in catalog.ROLES or re.fullmatch(r"r\d+", v), v
    # The formula text reads back through the safe parser to the same expression.
    again = parse_formula(law.formula)
    subs = {s: sympy.Symbol(str(s), positive=True) for s in again.free_symbols if str(s) in law.variables}
    assert sympy.simplify(again.xreplace(subs) - law.expr) == 0
    # Bounds are sane and starts lie inside them.
    for p in law.params.values():
        assert p.lower < p.upper
        for s in p.starts():
            assert p.lower <= s <= p.upper
    # Round trip through the results.json form.
    back = Law.from_dict(law.to_dict())
    assert back.variables == law.variables
    assert set(back.params) == set(law.params)


def test_published_constants_are_only_where_given():
    with_published = {n for n in catalog.names() if catalog.get(n).published is not None}
    assert {
        "hoffmann2022", "besiroglu2024", "kaplan2020", "kaplan2020_n", "kaplan2020_d",
        "muennighoff2023", "deepseek2024_lr", "deepseek2024_bs", "steplaw2025_lr", "steplaw2025_bs",
    } <= with_published
    h = catalog.get("hoffmann2022").published
    assert h == {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    e = catalog.get("besiroglu2024").published
    assert e == {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def test_get_unknown_name_raises_with_close_matches():
    with pytest.raises(DataError, match="hoffmann2022"):
        catalog.get("hofmann2022")
    with pytest.raises(DataError, match="unknown catalog law 'no_such_law'"):
        catalog.get("no_such_law")


def test_get_accepts_friendly_aliases():
    assert catalog.get("chinchilla").name == "hoffmann2022"
    assert catalog.get("Kaplan2020").name == "kaplan2020"


# ------------------------------------------------------------------- roles
@pytest.mark.parametrize(
    "column, role",
    [
        ("non_vocab_params", "N"),
        ("num_characters", "D"),
        ("sft_data_size", "D"),
        ("unique_tokens", "U"),
        ("vocab_size", "V"),
        ("params", "N"),
        ("tokens", "D"),
        ("Tokens", "D"),
        ("flops", "C"),
        ("num_experts", "E"),
        ("granularity", "G"),
        ("weight_bits", "P"),
        ("P", "P"),
        ("p", "K"),
        ("learning_rate", "lr"),
        ("bsz", "B"),
        ("prop_web", "r"),
        ("proportion_code", "r"),
        ("p_domain3", "r"),
        ("r_1", "r"),
        # fallbacks: whole words, longest alias wins; then plain substring
        ("n_unique_tokens", "U"),
        ("global_batch_size", "B"),
        ("dense_parameter_count", "N"),
        ("numparams", "N"),
        ("examples", "D"),
        ("Seen Examples", "D"),
        # a batch in any unit is the batch size; a warmup is no scale, whatever it counts
        ("batch_tokens", "B"),
        ("warmup_tokens", None),
        ("tokens_per_param", "D"),
        # things that are not roles
        ("hidden_size", None),
        ("weight_decay", None),
        ("loss", None),
    ],
)
def test_match_role(column, role):
    assert roles.match_role(column) == role


def test_roles_cover_the_required_aliases():
    need = {
        "N": ["params", "num_params", "n_params", "parameters", "non_vocab_params", "model_size",
              "non_embedding_params", "nparams", "size"],
        "D": ["tokens", "num_tokens", "data", "data_size", "sft_data_size", "num_characters",
              "dataset_size", "seen_examples", "n_tokens", "train_tokens", "samples"],
        "C": ["flops", "compute", "train_flops"],
        "U": ["unique_tokens", "unique_data"],
        "V": ["vocab_size", "vocabulary", "vocab"],
        "E": ["experts", "num_experts", "n_experts"],
        "P": ["precision", "bits", "p_w", "weight_bits"],
        "K": ["streams", "parallel", "p", "num_streams"],
        "lr": ["lr", "learning_rate", "eta"],
        "B": ["batch_size", "bs", "bsz"],
    }
    for role, aliases in need.items():
        desc, have = catalog.ROLES[role]
        assert desc
        assert set(aliases) <= set(have), role
        for a in aliases:
            assert roles.match_role(a) == role, a
    assert "G" in catalog.ROLES and "r" in catalog.ROLES


# ----------------------------------------------------------------- binding
def test_bind_by_alias():
    law = catalog.bind(catalog.get("hoffmann2022"), ["params", "tokens"])
    assert law.variables == ("params", "tokens")  # role order N, D


def test_bind_sld_columns():
    law = catalog.bind("tao2024", ["non_vocab_params", "vocab_size", "num_characters"])
    assert dict(zip(catalog.get("tao2024").variables, law.variables)) == {"N": "non_vocab_params", "V": "vocab_size", "D": "num_characters"}
    law = catalog.bind("muennighoff2023", ["params", "tokens", "unique_tokens"])
    assert dict(zip(catalog.get("muennighoff2023").variables, law.variables)) == {"N": "params", "D": "tokens", "U": "unique_tokens"}
    law = catalog.bind("lin2024", ["sft_data_size"])
    assert law.variables == ("sft_data_size",)


def test_bind_explicit_mapping_wins():
    law = catalog.bind("hoffmann2022", ["params", "tokens", "n_embed"], mapping={"N": "n_embed"})
    assert law.variables == ("n_embed", "tokens")


def test_bind_positional_only_when_counts_match():
    law = catalog.bind("hoffmann2022", ["x1", "x2"])
    assert law.variables == ("x1", "x2")
    law = catalog.bind("hoffmann2022", ["params", "x"])
    assert law.variables == ("params", "x")
    with pytest.raises(DataError, match=r"role D"):
        catalog.bind("hoffmann2022", ["params", "x", "y"])


def test_bind_never_uses_a_feature_twice_or_a_feature_of_another_role():
    # 'tokens' is D; it must not be bound positionally to the experts role.
    with pytest.raises(DataError, match=r"role E"):
        catalog.bind("clark2022", ["params", "tokens"])
    with pytest.raises(DataError, match="two roles"):
        catalog.bind("hoffmann2022", ["a", "b"], mapping={"N": "a", "D": "a"})


def test_bind_errors_name_the_problem():
    with pytest.raises(DataError, match=r"role U"):
        catalog.bind("muennighoff2023", ["params", "tokens"])
    with pytest.raises(DataError, match="not among the features"):
        catalog.bind("hoffmann2022", ["params", "tokens"], mapping={"N": "nope"})
    with pytest.raises(DataError, match="not a role"):
        catalog.bind("hoffmann2022", ["params", "tokens"], mapping={"XYZ": "params"})


def test_bind_renames_a_constant_that_clashes_with_a_column():
    law = catalog.bind("hoffmann2022", ["E", "tokens"], mapping={"N": "E"})
    assert "E" in law.variables and "E" not in law.params
    assert "E_" in law.params


# -------------------------------------------------------------- applicable
def test_applicable_params_tokens():
    found = catalog.applicable(["params", "tokens"])
    names = [law.name for law in found]
    for want in ["hoffmann2022", "besiroglu2024", "kaplan2020", "hestness2017", "hestness2017_n"]:
        assert want in names
    assert "muennighoff2023" not in names
    assert "tao2024" not in names
    assert "clark2022" not in names
    for law in found:
        assert set(law.variables) <= {"params", "tokens"}
    # Stable order.
    assert names == [law.name for law in catalog.applicable(["params", "tokens"])]


def test_applicable_with_unique_tokens_includes_data_constrained():
    names = [law.name for law in catalog.applicable(["params", "tokens", "unique_tokens"])]
    assert "muennighoff2023" in names and "hoffmann2022" in names


def test_applicable_never_more_variables_than_features():
    for law in catalog.applicable(["tokens"]):
        assert len(law.variables) == 1


def test_applicable_target_filters_hyperparameter_laws():
    loss_laws = [law.name for law in catalog.applicable(["params", "tokens"], target="loss")]
    assert "steplaw2025_lr" not in loss_laws and "hoffmann2022" in loss_laws
    lr_laws = [law.name for law in catalog.applicable(["params", "tokens"], target="learning_rate")]
    assert lr_laws == ["steplaw2025_lr"]
    bs_laws = [law.name for law in catalog.applicable(["flops"], target="batch_size")]
    assert bs_laws == ["deepseek2024_bs"]


# ---------------------------------------------------------- variadic laws
def test_ye2024_default_has_two_proportions():
    law = catalog.get("ye2024")
    assert law.variables == ("r1", "r2")


def test_ye2024_builder_three_proportions():
    law = catalog.mixing.ye2024(3)
    assert law.variables == ("r1", "r2", "r3")
    assert {"t1", "t2", "t3", "c", "k_scale"} == set(law.params)
    cols = ["prop_web", "prop_code", "prop_books"]
    bound = catalog.bind("ye2024", cols)
    assert bound.variables == tuple(cols)
    found = [law for law in catalog.applicable(cols + ["params"]) if law.name == "ye2024"]
    assert len(found) == 1 and found[0].variables == tuple(cols)
    X = {c: np.array([0.2, 0.5]) for c in cols}
    vals = {"c": 1.0, "k_scale": 2.0, "t1": -1.0, "t2": 0.5, "t3": 0.0}
    got = bound.evaluate(X, vals)
    assert np.allclose(got, 1.0 + 2.0 * np.exp(-0.5 * np.array([0.2, 0.5])))
    with pytest.raises(DataError):
        catalog.mixing.ye2024(0)


def test_ye2024_explicit_mapping_list():
    bound = catalog.bind("ye2024", ["a", "b", "c", "d"], mapping={"r": ["d", "b"]})
    assert bound.variables == ("d", "b")


# ------------------------------------------------ published constants on data
@pytest.mark.skipif(not CHINCHILLA.exists(), reason="shared Chinchilla table not available")
def test_published_constants_evaluate_on_chinchilla_runs():
    df = pd.read_csv(CHINCHILLA)
    for law in catalog.applicable(["params", "tokens"], target="loss"):
        if law.published is None:
            continue
        pred = law.with_constants(law.published).predict(df)
        assert np.all(np.isfinite(pred)), law.name
    law = catalog.bind("hoffmann2022", ["params", "tokens"])
    pred = law.with_constants(law.published).predict(df)
    assert np.all((pred > 1.5) & (pred < 6.0))
    # Sanity: the published law tracks the observed losses.
    assert r2(df["loss"], pred) > 0.5


@pytest.mark.skipif(not (SLD / "data_constrained.csv").exists(), reason="shared SLD table not available")
def test_data_constrained_published_r2_matches_sldbench():
    df = pd.read_csv(SLD / "data_constrained.csv")
    law = catalog.bind("muennighoff2023", ["params", "tokens", "unique_tokens"])
    pred = law.with_constants(law.published).predict(df)
    test = (df["split"] == "test").to_numpy()
    score = r2(df["loss"].to_numpy()[test], pred[test])
    assert abs(score - 0.911) <= 0.005, score


def test_data_constrained_matches_its_definition():
    """The formula equals the effective-data / effective-parameter construction."""
    law = catalog.get("muennighoff2023")
    c = law.published
    N = np.array([1e8, 2e9, 8e9])
    D = np.array([1e10, 4e10, 9e11])
    U = np.array([1e9, 1e9, 1e10])
    UN = np.minimum(c["k_U"] * U, N)
    Np = UN * (1 + c["R_Nstar"] * (1 - np.exp(-(N / UN - 1) / c["R_Nstar"])))
    Dp = U * (1 + c["R_Dstar"] * (1 - np.exp(-(D / U - 1) / c["R_Dstar"])))
    want = c["E"] + c["A"] / Np ** c["alpha"] + c["B"] / Dp ** c["beta"]
    got = law.with_constants(c).predict({"N": N, "D": D, "U": U})
    assert np.allclose(got, want, rtol=1e-12)


def test_hyperparameter_laws_published_values():
    lr = catalog.get("deepseek2024_lr")
    got = lr.with_constants(lr.published).predict({"C": np.array([1e20])})[0]
    assert math.isclose(got, 0.3118 * 1e20 ** -0.125)
    step = catalog.get("steplaw2025_lr")
    got = step.with_constants(step.published).predict({"N": np.array([1e9]), "D": np.array([1e11])})[0]
    assert math.isclose(got, 1.79 * 1e9 ** -0.713 * 1e11 ** 0.307)
    assert catalog.entry("steplaw2025_lr").predicts == "lr" and catalog.entry("steplaw2025_bs").predicts == "B"
