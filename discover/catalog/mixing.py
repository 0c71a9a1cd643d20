"""Ye et al. (2024): the data mixing law, variadic in the mixture proportions.

For k domains with proportions r1..rk of the training mixture, the loss (on one
validation domain) is ``c + k_scale * exp(t1*r1 + ... + tk*rk)``. The law is
built for any k by :func:`ye2024`; the catalog's default (``get("ye2024")``)
has two proportions, and binding to a table rebuilds it for the proportion
columns the table has.
"""

from __future__ import annotations

from ..errors import DataError
from ..law import Law
from .entry import BUILDERS, CatalogEntry, catalog_law, exponent, linear

DEFAULT_K = 2
MAX_K = 64


def proportion_variables(k: int) -> list[str]:
    """Role variables of a k-domain mixing law: ``r1 .. rk``."""
    return [f"r{j}" for j in range(1, k + 1)]


def ye2024_entry(k: int = DEFAULT_K) -> CatalogEntry:
    """The catalog entry of the data mixing law over k proportion variables ``r1 .. rk``."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise DataError(f"the ye2024 mixing law needs between 1 and {MAX_K} proportion columns, got {k!r}")
    rs = proportion_variables(k)
    exponent_sum = " + ".join(f"t{j}*{r}" for j, r in enumerate(rs, start=1))
    params = {
        "c": linear("c", init=(0.0, 1.0)),
        "k_scale": linear("k_scale", init=(0.1, 1.0)),
    }
    for j in range(1, k + 1):
        params[f"t{j}"] = exponent(f"t{j}", lower=-20.0, upper=20.0, init=(-2.0, -0.5, 0.5))
    return catalog_law(
        f"c + k_scale*exp({exponent_sum})",
        rs,
        name="ye2024",
        family="mixing",
        authors_year="Ye et al. 2024",
        citation=(
            "Ye et al. (2024). Data Mixing Laws: Optimizing Data Mixtures by Predicting Language "
            "Modeling Performance. arXiv:2403.16952"
        ),
        description=(
            f"Validation loss against the mixture proportions of {k} training domain(s) at fixed model "
            "and data size: a constant plus an exponential of a linear function of the proportions. "
            "Per-setting fits, no universal constants; when proportions sum to one, one t_j is redundant."
        ),
        params=params,
        builder="ye2024",
        variadic="r",
    )


def ye2024(k: int = DEFAULT_K) -> Law:
    """The data mixing law over k proportion variables ``r1 .. rk``."""
    return ye2024_entry(k).law


BUILDERS["ye2024"] = ye2024_entry


def laws():
    return [ye2024_entry(DEFAULT_K)]
