"""A catalog entry, and the one way the family modules build one.

Every catalog law is a plain :class:`discover.law.Law` whose variables are
*role* names (``N``, ``D``, ``U`` ... see :mod:`discover.roles`). What the
catalog knows about a law beyond the law itself -- its family, what it
predicts, how a variadic law is rebuilt for more columns -- is a
:class:`CatalogEntry`, not part of the law.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ..law import Law, Param


@dataclass(frozen=True)
class CatalogEntry:
    """A published law and what the catalog knows about it.

    ``family``: the catalog module it belongs to (``"chinchilla"``, ``"moe"`` ...);
    ``predicts``: what its output is, ``"loss"`` (a loss or error, the default),
    ``"lr"`` (an optimal learning rate) or ``"B"`` (an optimal batch size);
    ``builder``: for a variadic law, the name of the function in :data:`BUILDERS`
    that rebuilds it for a given number of columns of its repeating role
    ``variadic`` (``"r"``).
    """

    law: Law
    family: str
    predicts: str = "loss"
    builder: str | None = None
    variadic: str | None = None

    @property
    def name(self) -> str:
        return self.law.name

# Standard starting grids, so that families stay consistent with each other.
EXPONENT = (0.1, 0.3, 0.6)
SMALL_EXPONENT = (0.05, 0.1, 0.3)


def exponent(name: str, lower: float = 0.0, upper: float = 3.0, init: Sequence[float] = EXPONENT) -> Param:
    """An exponent-like constant: bounded, started from a small grid."""
    return Param(name=name, lower=lower, upper=upper, init=tuple(init))


def linear(name: str, lower: float = 0.0, upper: float = float("inf"), init: Sequence[float] = (1.0,)) -> Param:
    """A coefficient that enters the law linearly (the fitter solves it exactly)."""
    return Param(name=name, lower=lower, upper=upper, init=tuple(init))


def scale(name: str, init: Sequence[float], lower: float = 1e-12, upper: float = float("inf")) -> Param:
    """A positive scale inside a nonlinear term, searched in log space. No upper bound by default:
    a scale's size is the table's units, and a finite cap far above any sensible value would only
    make a fit that runs to it look like a law (a constant at a bound is flagged, :mod:`discover.flags`)."""
    return Param(name=name, lower=lower, upper=upper, init=tuple(init), log_scale=True)


def catalog_law(
    formula: str,
    roles: Sequence[str],
    *,
    name: str,
    family: str,
    authors_year: str,
    citation: str,
    description: str,
    params: Mapping[str, Param],
    published: Mapping[str, float] | None = None,
    predicts: str = "loss",
    builder: str | None = None,
    variadic: str | None = None,
) -> CatalogEntry:
    """Build one catalog entry (role variables, bounds, provenance, citation)."""
    law = Law.from_formula(
        formula,
        variables=list(roles),
        name=name,
        params=dict(params),
        published=dict(published or {}),
        provenance=f"catalog: {authors_year}",
        citation=citation,
        description=description,
    )
    return CatalogEntry(law, family, predicts, builder, variadic if builder is not None else None)


# name -> function(k: int) -> CatalogEntry, for variadic laws (filled by the modules).
BUILDERS: dict[str, Callable[[int], CatalogEntry]] = {}
