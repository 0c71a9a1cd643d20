"""Chen et al. (2025): parallel scaling (ParScale), P parallel streams of one model."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear, scale


def laws():
    law = catalog_law(
        "(A/(N*(k*log(K) + 1)))**alpha + E",
        ["N", "K"],
        name="chen2025",
        family="parallel",
        authors_year="Chen et al. 2025",
        citation="Chen et al. (2025). Parallel Scaling Law for Language Models. arXiv:2505.10475",
        description=(
            "Loss of a model of N parameters run as K parallel streams (the paper's P): the streams act "
            "like multiplying N by (k log K + 1). Constants depend on the dataset; none attached."
        ),
        params={
            "A": scale("A", (1e5, 1e7, 1e9)),
            "k": exponent("k", lower=0.0, upper=10.0, init=(0.1, 0.4, 1.0)),
            "alpha": exponent("alpha", init=(0.1, 0.2, 0.4)),
            "E": linear("E", init=(1.0, 2.0)),
        },
    )
    return [law]
