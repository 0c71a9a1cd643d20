"""The kinds of term the grammar engine builds laws from, one class each.

A term is a column φ(z; θ) that enters a law linearly with its own coefficient
(``c * φ``). A kind knows everything about its terms, in one place: its
column on normalised inputs, its SymPy form in the user's variables (with the
starting values of its constants carried across the normalisation), the
bounds and starting grid of its nonlinear constants and the role of each, its
complexity, which variables it applies to, and the simpler terms it reduces
to when a constant stops mattering. Adding a kind is one new class here,
registered with ``@register``; nothing else in the engine names kinds.

Where in the library a kind's terms come from is its *domain*:

- :class:`Single` kinds apply to one variable (``accepts(v)``);
- :class:`Directed` kinds to an ordered pair: a size ``x`` modified by ``y``;
- :class:`Pair` kinds to two positive plain features;
- :class:`Spread` kinds build their own variable tuples (a mixture of shares,
  a product of every size, a bowl whose centre moves with other features).

One module, though long: it is the registry, a short class per kind, and
reading all kinds side by side is how one checks they are consistent.
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from ..roles import match_role
from .registry import Registry
from .variables import Var, is_anneal, is_share, is_size, literal

LOG_B = (-12.0, 12.0)  # a log-scale constant (exp(θ) times the variable's scale)
MAX_SHARES = 6  # a mixing term over more shares has too many exponents for the tables this engine sees

EXPONENT, COEFFICIENT, SCALE, OFFSET, BREAK, SHARPNESS, CENTRE, WIDTH, SLOPE, RATE = (
    "exponent", "coefficient", "scale", "offset", "break point", "sharpness", "centre", "width", "slope", "rate")


class TermKind:
    """One kind of term. Subclasses set the class attributes and implement the methods."""

    name: str = ""
    complexity: int = 0
    needs_intercept: bool = False  # a log term: no zero of its own, so a law with it needs an intercept
    twin: bool = False  # may stand twice on one variable (A x^-a + B x^-b), on tables of few features
    is_log: bool = False  # the log of its variable: under the log link, exp(c log x) is the power x**c
    roles: tuple[str, ...] = ()  # the role of each nonlinear constant, in order
    bounds_: tuple[tuple[float, float], ...] = ()
    inits_: tuple[tuple[float, ...], ...] = ((),)

    def n_theta(self, n_vars: int) -> int:
        return len(self.roles)

    def bounds(self, n_vars: int) -> list[tuple[float, float]]:
        return list(self.bounds_)

    def inits(self, n_vars: int) -> list[tuple[float, ...]]:
        return list(self.inits_)

    def column(self, Z: list[np.ndarray], th, vars_: tuple[Var, ...]) -> np.ndarray:
        """The term on normalised inputs ``Z`` (one array per variable) at constants ``th``."""
        raise NotImplementedError

    def sympy(self, xs, ss, c, th, names) -> tuple[sympy.Expr, dict[str, float], dict[str, tuple]]:
        """(the term in the original variables ``xs`` with constant symbols ``c`` named ``names``,
        starting values for those constants from ``th`` fitted on inputs scaled by ``ss``, their bounds)."""
        raise NotImplementedError

    def simpler(self, names: list[str]) -> list[str]:
        """Keys of the terms of fewer variables this one reduces to (``names``: its variables)."""
        return []

    def split(self, names: list[str]) -> list[str]:
        """Keys of terms that together replace this one with as many constants (none by default)."""
        return []


class Single(TermKind):
    """A kind of term on one variable. An annealing variable (:func:`~.variables.is_anneal`) takes only
    the kinds that say so (``on_anneal``): linear and saturating growth."""

    on_anneal: bool = False

    def accepts(self, v: Var) -> bool:
        return v.positive

    def takes(self, v: Var) -> bool:
        return (self.on_anneal or not is_anneal(v)) and self.accepts(v)


class Directed(TermKind):
    """A kind of term on a size ``x`` whose effect another variable ``y`` modifies."""

    def accepts(self, x: Var, y: Var) -> bool:
        return y.positive

    def simpler(self, names):
        return [f"pow({names[0]})"]


class Pair(TermKind):
    """A kind of term on two positive plain features."""


class Spread(TermKind):
    """A kind of term that chooses its own variable tuples, with one nonlinear constant per variable:
    each within ``bound``, started from each of ``patterns`` repeated over the variables."""

    bound: tuple[float, float] = (-4.0, 4.0)
    patterns: tuple[tuple[float, ...], ...] = ()

    def n_theta(self, n_vars):
        return n_vars

    def bounds(self, n_vars):
        return [self.bound] * n_vars

    def inits(self, n_vars):
        return [tuple(p[i % len(p)] for i in range(n_vars)) for p in self.patterns]

    def tuples(self, plain: list[Var], scale_vars: list[Var]) -> list[tuple[Var, ...]]:
        raise NotImplementedError


KINDS: Registry[TermKind] = Registry("term kind")
register = KINDS.register  # class decorator: one instance of the kind, in the order of registration


# ------------------------------------------------------------------ one variable
@register
class Power(Single):
    name, complexity, twin, roles = "pow", 4, True, (EXPONENT,)
    bounds_ = ((-4.0, 4.0),)
    inits_ = ((0.1,), (0.4,), (1.0,), (-0.3,))

    def column(self, Z, th, vars_):
        return Z[0] ** (-th[0])

    def sympy(self, xs, ss, c, th, names):
        return xs[0] ** (-c[0]), {names[0]: th[0]}, {names[0]: (-6.0, 6.0)}


@register
class Log(Single):
    name, complexity, needs_intercept, is_log = "log", 3, True, True

    def column(self, Z, th, vars_):
        return np.log(Z[0])

    def sympy(self, xs, ss, c, th, names):
        return sympy.log(xs[0]), {}, {}


@register
class LogSquared(Single):
    name, complexity, needs_intercept = "log2", 5, True

    def accepts(self, v):
        # (log x/s)^2 has its optimum at s: none in a size (more parameters, data or compute never hurt)
        return v.positive and v.den is None and not is_size(v)

    def column(self, Z, th, vars_):
        return np.log(Z[0]) ** 2

    def sympy(self, xs, ss, c, th, names):
        # the search fitted (log x/s)²: without a log x term beside it, log(x)² is another law
        return sympy.log(xs[0] / literal(ss[0])) ** 2, {}, {}


@register
class Linear(Single):
    name, complexity, on_anneal = "lin", 2, True

    def accepts(self, v):
        return v.den is None and v.bounded  # linear growth in a raw scale variable does not extrapolate

    def column(self, Z, th, vars_):
        return Z[0]

    def sympy(self, xs, ss, c, th, names):
        return xs[0], {}, {}


@register
class Saturating(Single):
    name, complexity, roles = "sat", 7, (EXPONENT, SCALE)
    bounds_ = ((0.01, 4.0), LOG_B)
    inits_ = ((0.3, 0.0), (0.7, 2.0), (0.3, -3.0), (1.0, 5.0))

    def column(self, Z, th, vars_):
        return 1.0 / (Z[0] ** th[0] + math.exp(th[1]))

    def sympy(self, xs, ss, c, th, names):
        b = math.exp(th[1]) * ss[0] ** th[0]
        return 1 / (xs[0] ** c[0] + c[1]), {names[0]: th[0], names[1]: b}, {names[0]: (0.0, 6.0), names[1]: (0.0, math.inf)}

    def simpler(self, names):
        return [f"pow({names[0]})"]


@register
class Shifted(Single):
    name, complexity, roles = "shift", 6, (EXPONENT, OFFSET)
    bounds_ = ((-4.0, 4.0), LOG_B)
    inits_ = ((0.3, -2.0), (0.7, 0.0), (1.0, -5.0), (0.4, 1.0))

    def column(self, Z, th, vars_):
        return (Z[0] + math.exp(th[1])) ** (-th[0])

    def sympy(self, xs, ss, c, th, names):
        b = math.exp(th[1]) * ss[0]
        return (xs[0] + c[1]) ** (-c[0]), {names[0]: th[0], names[1]: b}, {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)}

    def simpler(self, names):
        return [f"pow({names[0]})"]


@register
class Exponential(Single):
    name, complexity, twin, roles = "exp", 5, True, (RATE,)
    bounds_ = ((-30.0, 30.0),)
    inits_ = ((1.0,), (-1.0,), (5.0,), (0.2,))

    def accepts(self, v):
        return v.bounded or v.den is not None  # exponential decay in a raw scale variable does not extrapolate

    def column(self, Z, th, vars_):
        return np.exp(-th[0] * Z[0])

    def sympy(self, xs, ss, c, th, names):
        return sympy.exp(-c[0] * xs[0]), {names[0]: th[0] / ss[0]}, {names[0]: (-math.inf, math.inf)}


@register
class Inverse(Single):
    name, complexity = "inv", 3

    def column(self, Z, th, vars_):
        return 1.0 / Z[0]

    def sympy(self, xs, ss, c, th, names):
        return 1 / xs[0], {}, {}


@register
class BrokenPower(Single):
    """Caballero et al.: a power law with one smooth break, sharpness f."""

    name, complexity, roles = "bpl", 14, (EXPONENT, BREAK, EXPONENT, SHARPNESS)
    bounds_ = ((-4.0, 4.0), LOG_B, (-4.0, 4.0), (-4.0, 3.0))
    inits_ = ((0.2, 0.0, 0.3, 0.0), (0.1, 2.0, 0.5, -0.7), (0.5, -2.0, -0.3, 0.0), (0.1, -1.0, 0.3, -0.7))

    def accepts(self, v):
        return v.positive and v.den is None

    def column(self, Z, th, vars_):
        # z^-a (1 + (z/d)^(1/f))^(-c f), in logs: a sharp break (small f) past d overflows
        # (z/d)^(1/f), though the term itself is just z^-a (z/d)^-c there
        f = math.exp(th[3])
        lz = np.log(Z[0])
        return np.exp(-th[0] * lz - th[2] * f * np.logaddexp(0.0, (lz - th[1]) / f))

    def sympy(self, xs, ss, c, th, names):
        d, f = math.exp(th[1]) * ss[0], math.exp(th[3])
        x = xs[0]
        return (x ** (-c[0]) * (1 + (x / c[1]) ** (1 / c[3])) ** (-c[2] * c[3]),
                {names[0]: th[0], names[1]: d, names[2]: th[2], names[3]: f},
                {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf), names[2]: (-6.0, 6.0), names[3]: (0.0, math.inf)})

    def simpler(self, names):
        return [f"pow({names[0]})"]


@register
class SaturatingRatio(Single):
    """1 - exp(-z / b): a saturating effective quantity of a ratio (epochs), or the saturating benefit of
    annealing the learning rate."""

    name, complexity, roles, on_anneal = "satexp", 7, (SCALE,), True
    bounds_ = (LOG_B,)
    inits_ = ((0.0,), (2.0,), (-2.0,))

    def accepts(self, v):
        return v.den is not None and v.positive or is_anneal(v)

    def column(self, Z, th, vars_):
        return 1.0 - np.exp(-Z[0] / math.exp(th[0]))

    def sympy(self, xs, ss, c, th, names):
        b = math.exp(th[0]) * ss[0]
        return 1 - sympy.exp(-xs[0] / c[0]), {names[0]: b}, {names[0]: (0.0, math.inf)}


@register
class Square(Single):
    """(x - m)²: an optimum on a log axis (U-shaped scaling)."""

    name, complexity, roles = "sq", 5, (CENTRE,)
    bounds_ = ((-5.0, 5.0),)
    inits_ = ((0.0,), (0.5,), (-0.5,), (1.0,))

    def accepts(self, v):
        return v.log_axis  # on a raw positive axis the bowl (in log x) plays this part

    def column(self, Z, th, vars_):
        return (Z[0] - th[0]) ** 2

    def sympy(self, xs, ss, c, th, names):
        return (xs[0] - c[0]) ** 2, {names[0]: th[0] * ss[0]}, {names[0]: (-math.inf, math.inf)}


@register
class Sigmoid(Single):
    """1 / (1 + exp(-(x - m) / w)): a smooth step on a log axis (emergence)."""

    name, complexity, twin, roles = "sigm", 8, True, (CENTRE, WIDTH)
    bounds_ = ((-5.0, 5.0), (-5.0, 2.0))
    inits_ = ((0.0, -1.0), (0.5, -1.5), (-0.5, -1.5), (0.0, 0.0))

    def accepts(self, v):
        return v.log_axis

    def column(self, Z, th, vars_):
        return 0.5 * (1.0 + np.tanh((Z[0] - th[0]) / (2.0 * math.exp(th[1]))))

    def sympy(self, xs, ss, c, th, names):
        w = math.exp(th[1]) * ss[0]
        return (1 / (1 + sympy.exp((c[0] - xs[0]) / c[1])), {names[0]: th[0] * ss[0], names[1]: w},
                {names[0]: (-math.inf, math.inf), names[1]: (0.0, math.inf)})


# ------------------------------------------------------------------ own tuples
@register
class Mixture(Spread):
    """exp(-Σ t_j r_j) over the shares of a data mixture (Ye et al. 2024), a closing share left out."""

    name, complexity, bound = "expmix", 8, (-30.0, 30.0)
    patterns = ((1.0,), (-1.0,), (-1.0, 1.0), (3.0,))

    def tuples(self, plain, scale_vars):
        mix = [v for v in plain if is_share(v) and not v.closes_mix]
        return [tuple(mix)] if 2 <= len(mix) <= MAX_SHARES else []

    def column(self, Z, th, vars_):
        return np.exp(-sum(a * zj for a, zj in zip(th, Z)))

    def sympy(self, xs, ss, c, th, names):
        expr = sympy.exp(-sympy.Add(*[ci * xi for ci, xi in zip(c, xs)]))
        return expr, {n: float(t) / sj for n, t, sj in zip(names, th, ss)}, {n: (-math.inf, math.inf) for n in names}

    def simpler(self, names):
        return [f"exp({n})" for n in names]


@register
class Product(Spread):
    """Π x_j^-a_j over every positive feature (three or more)."""

    name, complexity = "prod", 10
    patterns = ((0.3,), (0.05,), (-0.1, 0.3), (0.3, -0.1))

    def tuples(self, plain, scale_vars):
        return [tuple(scale_vars)] if len(scale_vars) >= 3 else []

    def column(self, Z, th, vars_):
        out = np.ones_like(Z[0])
        for zi, a in zip(Z, th):
            out = out * zi ** (-a)
        return out

    def sympy(self, xs, ss, c, th, names):
        expr = sympy.Mul(*[xi ** (-ci) for xi, ci in zip(xs, c)])
        return expr, {n: float(t) for n, t in zip(names, th)}, {n: (-6.0, 6.0) for n in names}

    def simpler(self, names):
        return [f"pow({n})" for n in names]


@register
class Bowl(Spread):
    """(log x - m - Σ p_j log y_j)²: an optimum in x whose centre scales with other features."""

    name, complexity = "bowl", 9

    def bounds(self, n_vars):
        return [(-20.0, 20.0)] + [(-3.0, 3.0)] * (n_vars - 1)

    def inits(self, n_vars):
        k = n_vars - 1
        return [(0.0,) + (0.0,) * k, (0.0,) + (-0.5,) * k, (0.0,) + (0.5,) * k, (-1.0,) + (0.0,) * k, (1.0,) + (0.0,) * k]

    def tuples(self, plain, scale_vars):
        out = []
        for x in scale_vars:
            if is_size(x):
                continue  # more parameters, data or compute never makes loss worse: no optimum in them
            others = [v for v in scale_vars if v is not x]
            out.append((x,))
            out += [(x, y) for y in others]
            out += [(x, y, w) for i, y in enumerate(others) for w in others[i + 1:]]
        return out

    def column(self, Z, th, vars_):
        centre = th[0] + sum(p * np.log(zj) for p, zj in zip(th[1:], Z[1:]))
        return (np.log(Z[0]) - centre) ** 2

    def sympy(self, xs, ss, c, th, names):
        m = th[0] + math.log(ss[0]) - sum(p * math.log(sj) for p, sj in zip(th[1:], ss[1:]))
        centre = c[0] + sum(cj * sympy.log(xj) for cj, xj in zip(c[1:], xs[1:]))
        starts = {names[0]: m, **{n: float(t) for n, t in zip(names[1:], th[1:])}}
        return (sympy.log(xs[0]) - centre) ** 2, starts, {n: (-math.inf, math.inf) for n in names}

    def simpler(self, names):
        if len(names) < 2:
            return []
        return [f"bowl({','.join(n for j, n in enumerate(names) if j != i)})" for i in range(1, len(names))]


# ------------------------------------------------------------------ a size and its modifier
@register
class ModulatedPower(Directed):
    """x^-a (1 + b y^-g): a size term whose coefficient depends on another feature."""

    name, complexity, roles = "powmod", 11, (EXPONENT, COEFFICIENT, EXPONENT)
    bounds_ = ((-4.0, 4.0), LOG_B, (-4.0, 4.0))
    inits_ = ((0.3, 0.0, 0.5), (0.3, 2.0, 0.3), (0.5, -2.0, 1.0))

    def column(self, Z, th, vars_):
        return Z[0] ** (-th[0]) * (1.0 + math.exp(th[1]) * Z[1] ** (-th[2]))

    def sympy(self, xs, ss, c, th, names):
        b = math.exp(th[1]) * ss[1] ** th[2]
        return (xs[0] ** (-c[0]) * (1 + c[1] * xs[1] ** (-c[2])), {names[0]: th[0], names[1]: b, names[2]: th[2]},
                {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf), names[2]: (-6.0, 6.0)})

    def split(self, names) -> list[str]:
        """The additive neighbour with as many constants: A x^-a + B y^-b (Chinchilla's split)."""
        return [f"pow({n})" for n in names]


@register
class SaturatingSize(Directed):
    """(x (1 - exp(-P/γ)))^-a: an effective size saturating in P (precision bits)."""

    name, complexity, roles = "effexp", 10, (EXPONENT, SCALE)
    bounds_ = ((-4.0, 4.0), (-5.0, 5.0))
    inits_ = ((0.3, 0.0), (0.3, 1.0), (0.5, -1.0))

    def accepts(self, x, y):
        return y.positive and y.bounded

    def column(self, Z, th, vars_):
        P = Z[1] * vars_[1].scale
        return (Z[0] * (1.0 - np.exp(-P / math.exp(th[1])))) ** (-th[0])

    def sympy(self, xs, ss, c, th, names):
        return ((xs[0] * (1 - sympy.exp(-xs[1] / c[1]))) ** (-c[0]), {names[0]: th[0], names[1]: math.exp(th[1])},
                {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)})


@register
class LogGrowingSize(Directed):
    """(x (1 + k log P))^-a: an effective size growing with log P (parallel streams)."""

    name, complexity, roles = "efflog", 10, (EXPONENT, COEFFICIENT)
    bounds_ = ((-4.0, 4.0), (-8.0, 4.0))
    inits_ = ((0.3, -1.0), (0.2, 0.0), (0.5, -3.0))

    def accepts(self, x, y):
        return y.positive and y.bounded and y.min_raw >= 1.0

    def column(self, Z, th, vars_):
        P = Z[1] * vars_[1].scale
        return (Z[0] * (1.0 + math.exp(th[1]) * np.log(P))) ** (-th[0])

    def sympy(self, xs, ss, c, th, names):
        return ((xs[0] * (1 + c[1] * sympy.log(xs[1]))) ** (-c[0]), {names[0]: th[0], names[1]: math.exp(th[1])},
                {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)})


@register
class Repetition(Directed):
    """(U (1 + R (1 - exp(-(D/U - 1)/R))))^-b: repeated data worth less (D >= U; Muennighoff et al.)."""

    name, complexity, roles = "repeat", 12, (EXPONENT, SCALE)
    bounds_ = ((-4.0, 4.0), (-5.0, 8.0))
    inits_ = ((0.3, 2.7), (0.3, 1.0), (0.5, 4.0))

    def accepts(self, x, y):
        return y.positive and 1.0 - 1e-9 <= y.ratio_floor.get(x.name, 0) <= 1.5

    def column(self, Z, th, vars_):
        U = Z[1]
        ratio = (Z[0] * vars_[0].scale) / (U * vars_[1].scale)
        R = math.exp(th[1])
        return (U * (1.0 + R * (1.0 - np.exp(-(ratio - 1.0) / R)))) ** (-th[0])

    def sympy(self, xs, ss, c, th, names):
        U = xs[1]
        eff = U * (1 + c[1] * (1 - sympy.exp((1 - xs[0] / U) / c[1])))
        return eff ** (-c[0]), {names[0]: th[0], names[1]: math.exp(th[1])}, {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)}


@register
class AnnealBySize(Spread):
    """S2 * N^-g: the loss an anneal buys, scaled by a power of a size (larger models may gain less)."""

    name, complexity, roles = "annealsize", 7, (EXPONENT,)
    bound = (-2.0, 2.0)

    def n_theta(self, n_vars):
        return 1

    def bounds(self, n_vars):
        return [self.bound]

    def inits(self, n_vars):
        return [(0.0,), (0.3,), (-0.3,)]

    def tuples(self, plain, scale_vars):
        return [(a, x) for a in plain if is_anneal(a) for x in scale_vars if is_size(x) and not is_anneal(x)
                and match_role(x.num) == "N"]

    def column(self, Z, th, vars_):
        return Z[0] * Z[1] ** (-th[0])

    def sympy(self, xs, ss, c, th, names):
        return xs[0] * xs[1] ** (-c[0]), {names[0]: th[0]}, {names[0]: (-4.0, 4.0)}

    def simpler(self, names):
        return [f"lin({names[0]})"]


# ------------------------------------------------------------------ two features
@register
class PowerProduct(Pair):
    name, complexity, roles = "pow2", 8, (EXPONENT, EXPONENT)
    bounds_ = ((-4.0, 4.0), (-4.0, 4.0))
    inits_ = ((0.3, 0.3), (0.3, -0.3), (-0.3, 0.3), (0.6, 0.1))

    def column(self, Z, th, vars_):
        return Z[0] ** (-th[0]) * Z[1] ** (-th[1])

    def sympy(self, xs, ss, c, th, names):
        return (xs[0] ** (-c[0]) * xs[1] ** (-c[1]), {names[0]: th[0], names[1]: th[1]},
                {names[0]: (-6.0, 6.0), names[1]: (-6.0, 6.0)})

    def simpler(self, names):
        return [f"pow({n})" for n in names]


@register
class CrossLog(Pair):
    """log x log y: a Kaplan-style interaction (under the log link, an exponent that moves)."""

    name, complexity, needs_intercept = "cross", 6, True

    def column(self, Z, th, vars_):
        return np.log(Z[0]) * np.log(Z[1])

    def sympy(self, xs, ss, c, th, names):
        return sympy.log(xs[0] / literal(ss[0])) * sympy.log(xs[1] / literal(ss[1])), {}, {}


TERM_KINDS = tuple(KINDS)
