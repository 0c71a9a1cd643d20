"""A candidate law on its way to scoring: the law, and where its fit should start.

Why a type of its own: an engine knows more about a law it proposes than the
law itself holds -- the constants it fitted (a start for the pipeline's refit,
so the refit begins where the engine ended), every group's constants, its own
error -- and none of that is part of the law a user reads. :class:`Law` stays
what a law is; the rest travels here, from the engines to scoring and into the
checkpoint, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .law import Law

Constants = Mapping[str, float]


@dataclass(frozen=True)
class Candidate:
    """A law to score, with the engine's solution as starting points for its refit.

    ``start``: constants to add to the multi-start grid of every fit;
    ``group_starts``: each group's constants on the training rows (the refit of a
    grouped law polishes them instead of searching); ``group_starts_backtest``:
    the same on the rows below the backtest band. The other fields say what the
    engine saw: ``form`` its key of the law's form, ``engine_score`` its own
    error (lower is better, on the engine's scale), ``train_score`` its error on
    the rows it fitted, ``engine_model`` the model as the engine wrote it,
    ``engine_complexity`` the engine's own size of it, ``log_target`` whether it
    was searched on log(y), ``group_vectors`` per-group parameter vectors of a
    template (PySR). Only the first three reach a fit.
    """

    law: Law
    start: Constants | None = None
    group_starts: Mapping[str, Constants] | None = None
    group_starts_backtest: Mapping[str, Constants] | None = None
    form: str | None = None
    engine_score: float | None = None
    train_score: float | None = None
    engine_model: str | None = None
    engine_complexity: int | None = None
    log_target: bool | None = None
    group_vectors: Mapping[str, list] | None = None

    @property
    def name(self) -> str:
        return self.law.name


def as_candidate(item: "Candidate | Law") -> Candidate:
    """A candidate for a plain law (a catalog law, a user's formula): no starts of its own."""
    return item if isinstance(item, Candidate) else Candidate(item)
