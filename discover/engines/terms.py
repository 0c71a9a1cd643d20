"""Terms of law-shaped expressions for the grammar engine, and the library of them for a table.

A :class:`Term` is one kind of term (:mod:`~.kinds`) applied to one or more
variables (:mod:`~.variables`); :func:`term_library` is every term that makes
sense for a table's variables. Terms see features normalised by their
geometric mean on the training rows (``z = x / s``); :meth:`Term.sympy` writes
the term back in the user's original variables, with starting values for its
nonlinear constants carried across the rescaling.

*Pseudo-features* are ratios of two positive features (e.g. tokens per unique
token, i.e. epochs): the one-variable kinds apply to them too, which is how
"products and ratios of variables" enter the grammar.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import sympy

from .kinds import KINDS, TERM_KINDS, Directed, Pair, Single, Spread, TermKind
from .variables import Var, is_anneal, make_vars

__all__ = ["Term", "Var", "make_vars", "term_library", "TERM_KINDS", "MAX_TWIN_FEATURES"]

# Kinds that may stand twice on one variable (A x^-a + B x^-b; a U from two exponentials on a log
# axis; two steps) are offered when the table has at most this many features. With two (Chinchilla's
# fig. 4 table) a pair of token powers fitted the rows with a BIC 80 below every other law, so the BIC
# veto left only it, and it extrapolated worse than the refit Chinchilla law (test RMSE 0.018 vs 0.016).
MAX_TWIN_FEATURES = 1


@dataclass(frozen=True)
class Term:
    """One kind of term (by its registered name) applied to one or more variables."""

    kind: str
    vars: tuple[Var, ...]
    twin: bool = False  # a second term of the same kind on the same variable (two power laws in N)

    @property
    def spec(self) -> TermKind:
        return KINDS[self.kind]

    @property
    def key(self) -> str:
        mark = "'" if self.twin else ""
        return f"{self.kind}{mark}({','.join(v.name for v in self.vars)})"

    @property
    def original(self) -> str:
        """The key of the term this one is a twin of (its own key otherwise)."""
        return dataclasses.replace(self, twin=False).key

    @property
    def n_theta(self) -> int:
        return self.spec.n_theta(len(self.vars))

    @property
    def needs_intercept(self) -> bool:
        return self.spec.needs_intercept

    @property
    def features(self) -> set[str]:
        return {f for v in self.vars for f in v.features}

    @property
    def complexity(self) -> int:
        return self.spec.complexity

    def bounds(self):
        return self.spec.bounds(len(self.vars))

    def inits(self) -> list[tuple[float, ...]]:
        return self.spec.inits(len(self.vars))

    def column(self, Z: list[np.ndarray], th) -> np.ndarray:
        return self.spec.column(Z, th, self.vars)

    def sympy(self, th, names: list[str]) -> tuple[sympy.Expr, dict[str, float], dict[str, tuple]]:
        """(expression in original variables with constant symbols ``names``,
        starting values for those constants, their bounds)."""
        xs = [v.sympy() for v in self.vars]
        ss = [v.scale for v in self.vars]
        c = [sympy.Symbol(n, real=True) for n in names]
        return self.spec.sympy(xs, ss, c, th, names)

    def simpler(self) -> list[str]:
        """Keys of the library terms of fewer variables this term reduces to."""
        return self.spec.simpler([v.name for v in self.vars])

    def split(self) -> list[str]:
        """Keys of terms that together replace this one with as many constants."""
        return self.spec.split([v.name for v in self.vars])


def term_library(vars_: list[Var], kinds=TERM_KINDS) -> list[Term]:
    """Every term of the given kinds (names) that makes sense for these variables.

    In order: each variable's one-variable terms (ratios included), their twins
    on tables of few features, the terms that choose their own variables, each
    size with each modifier, and each pair of positive plain features.
    """
    chosen = [KINDS[k] for k in KINDS if k in set(kinds)]
    plain = [v for v in vars_ if v.den is None]
    scale_vars = [v for v in plain if v.positive and not is_anneal(v)]
    out = [Term(k.name, (v,)) for v in vars_ for k in chosen if isinstance(k, Single) and k.takes(v)]
    if len(plain) <= MAX_TWIN_FEATURES:  # few features: room for a second term of a kind on one variable
        out += [dataclasses.replace(t, twin=True) for t in list(out) if t.spec.twin]
    for k in chosen:
        if isinstance(k, Spread):
            out += [Term(k.name, tup) for tup in k.tuples(plain, scale_vars)]
    out += [Term(k.name, (x, y)) for x in scale_vars for y in plain if y is not x and not is_anneal(y)
            for k in chosen if isinstance(k, Directed) and k.accepts(x, y)]
    out += [Term(k.name, (a, b)) for i, a in enumerate(scale_vars) for b in scale_vars[i + 1:]
            for k in chosen if isinstance(k, Pair)]
    return out
