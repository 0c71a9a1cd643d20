"""End-to-end checks of the foundation on the real tables (issue 2's must-shows)."""
import json

import numpy as np
import pandas as pd
import pytest

import discover
from discover.errors import DataError


def test_vocab_catalog_law_refit_on_train(sld):
    res = discover.fit(sld("vocab.csv"), target="unigram_normalized_loss",
                       features=["non_vocab_params", "vocab_size", "num_characters"], split="column:split",
                       laws=["tao2024"], bootstrap=0)
    assert res.laws[0].metrics["test"]["r2"] >= 0.95


def test_sft_catalog_law_per_group(sld):
    res = discover.fit(sld("sft.csv"), target="sft_loss", features=["sft_data_size"], group="group",
                       split="column:split", laws=["lin2024"], bootstrap=0)
    s = res.laws[0]
    assert s.law.grouped and len(s.law.constants) == 42
    assert s.metrics["test"]["r2"] >= 0.94


def test_data_constrained_published_constants(sld):
    res = discover.fit(sld("data_constrained.csv"), target="loss", features=["params", "tokens", "unique_tokens"],
                       split="column:split", laws=["muennighoff2023"], published=True, bootstrap=0)
    assert res.laws[0].mode == "published"
    assert res.laws[0].metrics["test"]["r2"] == pytest.approx(0.911, abs=0.005)


def test_fit_api_results_json_round_trip_and_predict(chinchilla_csv, tmp_path):
    res = discover.fit(chinchilla_csv, target="loss", features=["params", "tokens"], split="compute:0.2",
                       laws=["hoffmann2022", "kaplan2020", "E + A/params**a"], bootstrap=20)
    lb = res.leaderboard
    assert lb["recommended"].sum() == 1 and lb.loc[lb["recommended"], "name"].item() == res.best.name
    assert lb.loc[lb["recommended"], "provenance"].item().startswith("catalog")  # the default a formula must beat
    assert {"train_rmse_log", "val_rmse_log", "test_rmse_log", "test_r2", "test_mape", "flags"} <= set(lb.columns)
    # chosen on validation only: the recommended law has the best selection error up to the tolerance
    path = res.to_json(tmp_path / "results.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] and data["laws"][0]["expression"] and "latex" in data["laws"][0]
    assert set(data["laws"][0]["metrics"]) >= {"train", "val", "test"}
    back = discover.Result.from_json(path)
    df = pd.read_csv(chinchilla_csv).head(5)
    assert np.allclose(back.predict(df), res.predict(df))
    band = back.predict(df, interval=0.9)
    assert (band.lower <= band.prediction).all() and (band.prediction <= band.upper).all()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


def test_split_none_reports_train_only(chinchilla_csv):
    res = discover.fit(chinchilla_csv, target="loss", features=["params", "tokens"], split=None,
                       laws=["hoffmann2022"], bootstrap=0)
    m = res.laws[0].metrics
    assert m["train"]["n"] == 245 and m["test"]["n"] == 0 and m["val"]["n"] == 0


def test_per_group_predict_uses_group_column(sld):
    res = discover.fit(sld("sft.csv"), target="sft_loss", features=["sft_data_size"], group="group",
                       split="column:split", laws=["lin2024"], bootstrap=0)
    df = pd.read_csv(sld("sft.csv")).iloc[[0, 100, 200]]
    pred = res.predict(df)
    assert np.all(np.isfinite(pred)) and len(set(np.round(pred, 6))) == 3
    with pytest.raises(DataError, match="group"):
        res.predict(df.drop(columns=["group"]))


def test_user_formula_and_unknown_law(chinchilla_csv):
    with pytest.raises(DataError, match="unknown|did you mean|not"):
        discover.fit(chinchilla_csv, target="loss", features=["params", "tokens"], laws=["hofman2022"])
    res = discover.fit(chinchilla_csv, target="loss", features=["params", "tokens"], laws=["E + A*params^(-a)"],
                       split="compute:0.2", bootstrap=0)
    assert res.laws[0].law.provenance == "user formula"


def test_selection_residuals_are_kept_in_memory_not_in_results_json(chinchilla_csv, tmp_path):
    res = discover.fit(chinchilla_csv, target="loss", features=["params", "tokens"], split="compute:0.2",
                       laws=["hoffmann2022", "E + A/params**a"], bootstrap=0)
    val = res.laws[0].metrics["val"]
    assert len(val["residuals"]) == val["n"] > 0  # what the paired selection rule compares row by row
    assert "residuals" not in res.to_json(tmp_path / "results.json").read_text()
    assert len(res.laws[0].to_dict(residuals=True)["metrics"]["val"]["residuals"]) == val["n"]
