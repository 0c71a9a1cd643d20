"""Kaplan et al. (2020): power laws in model size and data, and their joint form."""

from __future__ import annotations

from .entry import SMALL_EXPONENT, catalog_law, exponent, scale

AUTHORS = "Kaplan et al. 2020"
CITATION = "Kaplan et al. (2020). Scaling Laws for Neural Language Models. arXiv:2001.08361"
_SCALE_GRID = (1e9, 1e11, 1e13, 1e15)


def laws():
    joint = catalog_law(
        "((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D",
        ["N", "D"],
        name="kaplan2020",
        family="kaplan",
        authors_year=AUTHORS,
        citation=CITATION,
        description=(
            "Loss of a language model of N non-embedding parameters trained on D tokens, "
            "including overfitting when D is small; no irreducible term. Published values are "
            "the paper's single-variable fits (alpha_N, N_c from L(N); alpha_D, D_c from L(D)), "
            "loss in nats, as the joint law is commonly evaluated."
        ),
        params={
            "N_c": scale("N_c", _SCALE_GRID),
            "D_c": scale("D_c", _SCALE_GRID),
            "alpha_N": exponent("alpha_N", init=SMALL_EXPONENT),
            "alpha_D": exponent("alpha_D", init=SMALL_EXPONENT),
        },
        published={"alpha_N": 0.076, "alpha_D": 0.095, "N_c": 8.8e13, "D_c": 5.4e13},
    )
    by_n = catalog_law(
        "(N_c/N)**alpha_N",
        ["N"],
        name="kaplan2020_n",
        family="kaplan",
        authors_year=AUTHORS,
        citation=CITATION,
        description="Loss against non-embedding parameters N for models trained to convergence on ample data.",
        params={"N_c": scale("N_c", _SCALE_GRID), "alpha_N": exponent("alpha_N", init=SMALL_EXPONENT)},
        published={"alpha_N": 0.076, "N_c": 8.8e13},
    )
    by_d = catalog_law(
        "(D_c/D)**alpha_D",
        ["D"],
        name="kaplan2020_d",
        family="kaplan",
        authors_year=AUTHORS,
        citation=CITATION,
        description="Loss against training tokens D for large models trained with early stopping.",
        params={"D_c": scale("D_c", _SCALE_GRID), "alpha_D": exponent("alpha_D", init=SMALL_EXPONENT)},
        published={"alpha_D": 0.095, "D_c": 5.4e13},
    )
    return [joint, by_n, by_d]
