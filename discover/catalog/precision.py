"""Kumar et al. (2024): scaling laws for precision (weights trained in P bits)."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear, scale


def laws():
    law = catalog_law(
        "A/(N*(1 - exp(-P/gamma)))**alpha + B/D**beta + E",
        ["N", "D", "P"],
        name="kumar2024",
        family="precision",
        authors_year="Kumar et al. 2024",
        citation="Kumar et al. (2024). Scaling Laws for Precision. arXiv:2411.04330",
        description=(
            "Loss of quantisation-aware training with weights in P bits: Chinchilla form over an "
            "effective parameter count N(1 - exp(-P/gamma)) that saturates with precision. "
            "Published constants not attached."
        ),
        params={
            "A": linear("A", init=(100.0, 1000.0)),
            "B": linear("B", init=(100.0, 1000.0)),
            "E": linear("E", init=(1.0, 2.0)),
            "alpha": exponent("alpha"),
            "beta": exponent("beta"),
            "gamma": scale("gamma", (1.0, 2.5, 5.0), lower=1e-3),
        },
    )
    return [law]
