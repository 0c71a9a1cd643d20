"""Tao et al. (2024): loss with vocabulary size, in the form SLDBench's vocab task uses."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear

_FREE = float("-inf")


def laws():
    law = catalog_law(
        "A/N**alpha + B/V**beta + C/D**gamma + E",
        ["N", "V", "D"],
        name="tao2024",
        family="vocab",
        authors_year="Tao et al. 2024",
        citation=(
            "Tao et al. (2024). Scaling Laws with Vocabulary: Larger Models Deserve Larger Vocabularies. "
            "arXiv:2407.13623"
        ),
        description=(
            "Unigram-normalised loss (may be negative) against non-vocabulary parameters N, vocabulary "
            "size V and training characters D, as additive power laws; the coefficients A, B, C, E are "
            "not sign-restricted. SLDBench writes the paper's vocabulary term over V itself (the paper "
            "uses vocabulary parameters), so no published constants are attached: refit them."
        ),
        params={
            "A": linear("A", lower=_FREE),
            "B": linear("B", lower=_FREE),
            "C": linear("C", lower=_FREE),
            "E": linear("E", lower=_FREE),
            "alpha": exponent("alpha", init=(0.001, 0.05, 0.3)),
            "beta": exponent("beta", init=(0.001, 0.05, 0.3)),
            "gamma": exponent("gamma", init=(0.001, 0.05, 0.3)),
        },
    )
    return [law]
