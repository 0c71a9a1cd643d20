"""The variables the grammar engine builds terms on: features, normalised, and their ratios.

A :class:`Var` is a feature column (or the ratio of two positive ones, e.g.
tokens per unique token: epochs) seen through its geometric mean on the
training rows (``z = x / s``), which keeps exponent searches well conditioned
whatever the units. It also says what kind of axis it is -- a size (no optimum
in it), a bounded quantity, a share of a mixture, an axis that is already
logarithmic -- which decides the term kinds it gets (:mod:`~.kinds`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..roles import is_log_scale, is_scale, match_role


@dataclass(frozen=True)
class Var:
    """A (pseudo-)feature: a column or the ratio of two; ``scale`` normalises it."""

    name: str  # formula identifier, or "a/b" for a ratio
    num: str
    den: str | None
    scale: float
    positive: bool
    decades: float = 0.0  # log10(max/min) on the training rows: how wide the range is
    min_raw: float = 0.0  # smallest value on the training rows
    max_raw: float = 0.0  # largest value on the training rows
    closes_mix: bool = False  # a share in [0, 1] that the other shares determine (the shares sum to a constant)
    ratio_floor: dict = field(default_factory=dict, hash=False, compare=False)  # other var -> min(other/self)

    @property
    def bounded(self) -> bool:
        """Not a scale variable: signed, or spanning under two decades (proportions, bits, streams).
        A column named as a size (parameters, data, compute) is a scale variable however narrow its
        range: four sizes over one decade are still sizes, and a law linear or exponential in them
        would not extrapolate to the next one."""
        return not self.positive or self.log_axis or is_anneal(self) or (self.decades < 2.0 and not is_size(self))

    @property
    def log_axis(self) -> bool:
        """Already on a log axis: signed, or a plain column named as a logarithm (``log_flops``).
        Such a variable moves by shifts, not ratios, so it gets the shift-invariant terms: linear,
        exponential (a power law in the quantity it is the log of), a quadratic bowl and a sigmoid."""
        return not self.positive or (self.den is None and is_log_scale(self.num))

    def values(self, X: dict) -> np.ndarray:
        x = np.asarray(X[self.num], dtype=float)
        if self.den is not None:
            x = x / np.asarray(X[self.den], dtype=float)
        return x / self.scale

    def sympy(self) -> sympy.Expr:
        x = sympy.Symbol(self.num, positive=True)
        if self.den is not None:
            x = x / sympy.Symbol(self.den, positive=True)
        return x

    @property
    def features(self) -> tuple[str, ...]:
        return (self.num,) if self.den is None else (self.num, self.den)


def make_vars(X: dict, features: list[str], *, ratios: bool = True) -> list[Var]:
    """Variables for the grammar: each feature (normalised), plus ratios of positive pairs."""
    out = []
    pos = {}
    for f in features:
        x = np.asarray(X[f], dtype=float)
        positive = bool(np.all(x > 0))
        if positive:
            scale = round3(float(np.exp(np.mean(np.log(x)))))
        else:
            scale = round3(float(np.max(np.abs(x)))) or 1.0
        pos[f] = positive
        decades = float(np.log10(x.max() / x.min())) if positive else 0.0
        out.append(Var(f, f, None, scale, positive, decades, float(x.min()), float(x.max())))
    shares = [i for i, v in enumerate(out) if is_share(v)]
    if len(shares) >= 2 and np.ptp(sum(np.asarray(X[out[i].num], float) for i in shares)) < 1e-9:
        out[shares[-1]] = dataclasses.replace(out[shares[-1]], closes_mix=True)
    for v in out:  # for repetition terms: is x >= v on every row (tokens >= unique tokens)?
        if v.positive:
            for w in out:
                if w is not v and w.positive:
                    v.ratio_floor[w.name] = float(np.min(np.asarray(X[w.num], float) / np.asarray(X[v.num], float)))
    if ratios:  # a ratio of schedule summaries (or of one and a size) has no meaning of its own
        pf = [f for f in features if pos[f] and match_role(f) not in SCHEDULE_ROLES]
        for i, a in enumerate(pf):
            for b in pf[i + 1:]:
                r = np.asarray(X[a], float) / np.asarray(X[b], float)
                if np.ptp(np.log(r)) < 1e-9:
                    continue
                out.append(Var(f"{a}/{b}", a, b, round3(float(np.exp(np.mean(np.log(r))))), True,
                               float(np.log10(r.max() / r.min()))))
    return out


def round3(s: float) -> float:
    """A scale to three significant digits: the search only needs it roughly, and log terms carry
    it into the law as a literal (``log(params/316000000)``), which should read as a round number."""
    return float(f"{s:.3g}")


def literal(s: float) -> sympy.Expr:
    return sympy.Integer(int(s)) if s >= 1 and s == int(s) else sympy.Rational(repr(s))


def is_share(v: Var) -> bool:
    """A plain column in [0, 1] that is not a size: a mixture proportion (or a rate of that kind)."""
    return v.den is None and 0.0 <= v.min_raw and v.max_raw <= 1.0 and v.min_raw < v.max_raw and not is_size(v)


#: Schedule features that accumulate the LR's decrease (the annealing area, the multi-power loss drop): they
#: are 0 until the LR first falls and lower the loss as they grow, so a law takes them linearly or
#: saturating, never as a power (0**-a) or with an optimum.
ANNEAL_ROLES = {"S2", "LD"}
SCHEDULE_ROLES = {"S1", *ANNEAL_ROLES}


def is_anneal(v: Var) -> bool:
    """A plain feature that accumulates the LR's decrease (:data:`ANNEAL_ROLES`)."""
    return v.den is None and match_role(v.num) in ANNEAL_ROLES


def is_size(v: Var) -> bool:
    """True for a plain feature that names a scale (parameters, tokens, compute, unique data):
    a law for loss has no interior optimum in it. Hyperparameters, vocabulary size and
    columns of unknown role may have one."""
    return v.den is None and is_scale(v.num)
