"""Optimal hyperparameter laws: DeepSeek LLM (2024) and Step Law (Li et al. 2025).

The target of these laws is the optimal hyperparameter (learning rate or batch
size), not a loss: fit them to a table of per-setting optima.
"""

from __future__ import annotations

from .entry import catalog_law, exponent, linear

DEEPSEEK = "DeepSeek-AI (Bi et al.) 2024"
DEEPSEEK_CITATION = (
    "DeepSeek-AI, Bi et al. (2024). DeepSeek LLM: Scaling Open-Source Language Models with Longtermism. "
    "arXiv:2401.02954"
)
STEP = "Li et al. 2025"
STEP_CITATION = (
    "Li et al. (2025). Predictable Scale: Part I -- Optimal Hyperparameter Scaling Law in Large Language "
    "Model Pretraining. arXiv:2503.04715"
)


def laws():
    ds_lr = catalog_law(
        "a*C**b",
        ["C"],
        name="deepseek2024_lr",
        family="hyperparams",
        authors_year=DEEPSEEK,
        citation=DEEPSEEK_CITATION,
        description=(
            "Target: the optimal (peak) learning rate, as a power law in training compute C (FLOPs); "
            "fitted on DeepSeek's runs from about 1e17 to 2e19 FLOPs."
        ),
        params={"a": linear("a", init=(0.1, 1.0)), "b": exponent("b", lower=-3.0, upper=3.0, init=(-0.3, -0.1, 0.0))},
        published={"a": 0.3118, "b": -0.1250},
        predicts="lr",
    )
    ds_bs = catalog_law(
        "a*C**b",
        ["C"],
        name="deepseek2024_bs",
        family="hyperparams",
        authors_year=DEEPSEEK,
        citation=DEEPSEEK_CITATION,
        description="Target: the optimal batch size in tokens, as a power law in training compute C (FLOPs).",
        params={"a": linear("a", init=(0.1, 1.0)), "b": exponent("b", lower=-3.0, upper=3.0, init=(0.1, 0.3, 0.6))},
        published={"a": 0.2920, "b": 0.3271},
        predicts="B",
    )
    step_lr = catalog_law(
        "a*N**alpha*D**beta",
        ["N", "D"],
        name="steplaw2025_lr",
        family="hyperparams",
        authors_year=STEP,
        citation=STEP_CITATION,
        description=(
            "Target: the optimal learning rate (Step Law), a power law in non-embedding parameters N "
            "and training tokens D."
        ),
        params={
            "a": linear("a", init=(0.1, 1.0)),
            "alpha": exponent("alpha", lower=-3.0, upper=3.0, init=(-0.7, -0.3, 0.0)),
            "beta": exponent("beta", lower=-3.0, upper=3.0, init=(0.0, 0.3)),
        },
        published={"a": 1.79, "alpha": -0.713, "beta": 0.307},
        predicts="lr",
    )
    step_bs = catalog_law(
        "a*D**b",
        ["D"],
        name="steplaw2025_bs",
        family="hyperparams",
        authors_year=STEP,
        citation=STEP_CITATION,
        description="Target: the optimal batch size in tokens (Step Law), a power law in training tokens D only.",
        params={"a": linear("a", init=(0.1, 1.0)), "b": exponent("b", lower=-3.0, upper=3.0, init=(0.3, 0.6))},
        published={"a": 0.58, "b": 0.571},
        predicts="B",
    )
    return [ds_lr, ds_bs, step_lr, step_bs]
