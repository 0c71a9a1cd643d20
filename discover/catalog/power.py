"""Hestness et al. (2017): a saturating power law in one scale variable."""

from __future__ import annotations

from .entry import catalog_law, exponent, linear

AUTHORS = "Hestness et al. 2017"
CITATION = "Hestness et al. (2017). Deep Learning Scaling is Predictable, Empirically. arXiv:1712.00409"


def _params():
    return {"E": linear("E", init=(0.0, 1.0)), "A": linear("A", init=(1.0, 100.0)), "alpha": exponent("alpha")}


def laws():
    on_d = catalog_law(
        "E + A*D**(-alpha)",
        ["D"],
        name="hestness2017",
        family="power",
        authors_year=AUTHORS,
        citation=CITATION,
        description=(
            "Error or loss against training-set size D: a power law down to an irreducible floor E. "
            "The exponents are domain-specific (no universal published constants)."
        ),
        params=_params(),
    )
    on_n = catalog_law(
        "E + A*N**(-alpha)",
        ["N"],
        name="hestness2017_n",
        family="power",
        authors_year=AUTHORS,
        citation=CITATION,
        description="The same saturating power law in model size N (no universal published constants).",
        params=_params(),
    )
    return [on_d, on_n]
