"""Caballero et al. (2022): broken neural scaling law (one break)."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear, scale


CITATION = "Caballero, Gupta, Rish and Krueger (2022). Broken Neural Scaling Laws. arXiv:2210.14891"


def _params():
    return {
        "a": linear("a", lower=float("-inf"), init=(0.0, 1.0)),
        "b": linear("b", init=(1.0, 100.0)),
        "c0": exponent("c0", lower=-3.0, upper=3.0, init=(0.05, 0.2, 0.5)),
        # the slope change at the break: the paper allows any real; a sharp break needs a large one
        "c1": exponent("c1", lower=-50.0, upper=50.0, init=(-0.2, 0.1, 0.4)),
        "d1": scale("d1", (1e2, 1e5, 1e8, 1e11)),
        "f1": scale("f1", (0.1, 0.5, 2.0), lower=1e-3),
    }


def laws():
    on_n = catalog_law(
        "a + b*N**(-c0)*(1 + (N/d1)**(1/f1))**(-c1*f1)",
        ["N"],
        name="caballero2022_n",
        family="broken",
        authors_year="Caballero et al. 2022",
        citation=CITATION,
        description="The same smoothly broken power law in model size N (a break in how loss falls with size).",
        params=_params(),
    )
    law = catalog_law(
        "a + b*D**(-c0)*(1 + (D/d1)**(1/f1))**(-c1*f1)",
        ["D"],
        name="caballero2022",
        family="broken",
        authors_year="Caballero et al. 2022",
        citation=CITATION,
        description=(
            "Smoothly broken power law with one break at d1 (sharpness f1, slope change c1) above a "
            "floor a; written over D but valid for any one scale variable (bind it to N or C). "
            "No universal published constants."
        ),
        params=_params(),
    )
    return [law, on_n]
