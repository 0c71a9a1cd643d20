"""Building blocks of law-shaped expressions for the grammar engine.

A *term* is a column φ(x; θ) that enters a law linearly with its own coefficient
(``c * φ``): a power of a feature, a saturating power, a shifted power, a log
or log-squared (for hyperparameter optima), an interaction of two features, an
exponential decay, a broken power law. Terms see features normalised by their
geometric mean on the training rows (``z = x / s``), which keeps exponent
searches well conditioned whatever the units; :meth:`Term.sympy` writes the
term back in the user's original variables, with starting values for its
nonlinear constants carried across the rescaling.

*Pseudo-features* are ratios of two positive features (e.g. tokens per unique
token, i.e. epochs): every term type applies to them too, which is how
"products and ratios of variables" enter the grammar.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import sympy

LOG_B = (-12.0, 12.0)
MAX_SHARES = 6  # a mixing term over more shares has too many exponents for the tables this engine sees


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
        return not self.positive or self.log_axis or (self.decades < 2.0 and not _monotone_size(self))

    @property
    def log_axis(self) -> bool:
        """Already on a log axis: signed, or a plain column named as a logarithm (``log_flops``).
        Such a variable moves by shifts, not ratios, so it gets the shift-invariant terms: linear,
        exponential (a power law in the quantity it is the log of), a quadratic bowl and a sigmoid."""
        from ..catalog.roles import is_log_scale

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


@dataclass(frozen=True)
class Term:
    """One term type applied to one or two variables."""

    kind: str
    vars: tuple[Var, ...]
    twin: bool = False  # a second term of the same kind on the same variable (two power laws in N)

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
        if self.kind in ("prod", "bowl", "expmix"):
            return len(self.vars)
        return _SPEC[self.kind][0]

    @property
    def needs_intercept(self) -> bool:
        return self.kind in {"log", "log2", "cross"}

    @property
    def features(self) -> set[str]:
        return {f for v in self.vars for f in v.features}

    @property
    def complexity(self) -> int:
        return _SPEC[self.kind][1]

    def bounds(self):
        if self.kind == "prod":
            return [(-4.0, 4.0)] * len(self.vars)
        if self.kind == "bowl":
            return [(-20.0, 20.0)] + [(-3.0, 3.0)] * (len(self.vars) - 1)
        if self.kind == "expmix":
            return [(-30.0, 30.0)] * len(self.vars)
        return _SPEC[self.kind][2]

    def inits(self) -> list[tuple[float, ...]]:
        if self.kind == "bowl":
            k = len(self.vars) - 1
            return [(0.0,) + (0.0,) * k, (0.0,) + (-0.5,) * k, (0.0,) + (0.5,) * k, (-1.0,) + (0.0,) * k, (1.0,) + (0.0,) * k]
        if self.kind == "expmix":
            k = len(self.vars)
            return [(1.0,) * k, (-1.0,) * k, tuple(1.0 if i % 2 else -1.0 for i in range(k)), (3.0,) * k]
        if self.kind == "prod":
            k = len(self.vars)
            return [(0.3,) * k, (0.05,) * k, tuple(0.3 if i % 2 else -0.1 for i in range(k)),
                    tuple(-0.1 if i % 2 else 0.3 for i in range(k))]
        return _SPEC[self.kind][3]

    def column(self, Z: list[np.ndarray], th) -> np.ndarray:
        k = self.kind
        z = Z[0]
        if k == "pow":
            return z ** (-th[0])
        if k == "log":
            return np.log(z)
        if k == "log2":
            return np.log(z) ** 2
        if k == "cross":
            return np.log(z) * np.log(Z[1])
        if k == "pow2":
            return z ** (-th[0]) * Z[1] ** (-th[1])
        if k == "prod":
            out = np.ones_like(z)
            for zi, a in zip(Z, th):
                out = out * zi ** (-a)
            return out
        if k == "sat":
            return 1.0 / (z ** th[0] + math.exp(th[1]))
        if k == "shift":
            return (z + math.exp(th[1])) ** (-th[0])
        if k == "exp":
            return np.exp(-th[0] * z)
        if k == "lin":
            return z
        if k == "expmix":  # exp(-Σ t_j r_j) over mixture shares: Ye et al. 2024
            return np.exp(-sum(a * zj for a, zj in zip(th, Z)))
        if k == "inv":
            return 1.0 / z
        if k == "bpl":  # Caballero et al.: one smooth break, sharpness f
            # z^-a (1 + (z/d)^(1/f))^(-c f), in logs: a sharp break (small f) past d overflows
            # (z/d)^(1/f), though the term itself is just z^-a (z/d)^-c there
            f = math.exp(th[3])
            lz = np.log(z)
            return np.exp(-th[0] * lz - th[2] * f * np.logaddexp(0.0, (lz - th[1]) / f))
        if k == "bowl":  # (log x - m - Σ p_j log y_j)²: an optimum whose centre scales with other features
            centre = th[0] + sum(p * np.log(zj) for p, zj in zip(th[1:], Z[1:]))
            return (np.log(z) - centre) ** 2
        if k == "powmod":  # x^-a (1 + b y^-g): a size term whose coefficient depends on another feature
            return z ** (-th[0]) * (1.0 + math.exp(th[1]) * Z[1] ** (-th[2]))
        if k == "effexp":  # (x (1 - exp(-P/γ)))^-a: effective size saturating in P (precision bits)
            P = Z[1] * self.vars[1].scale
            return (z * (1.0 - np.exp(-P / math.exp(th[1])))) ** (-th[0])
        if k == "efflog":  # (x (1 + k log P))^-a: effective size growing with log P (parallel streams)
            P = Z[1] * self.vars[1].scale
            return (z * (1.0 + math.exp(th[1]) * np.log(P))) ** (-th[0])
        if k == "repeat":  # (U (1 + R (1 - exp(-(D/U - 1)/R))))^-b: repeated data worth less (D >= U)
            U = Z[1]
            ratio = (z * self.vars[0].scale) / (U * self.vars[1].scale)
            R = math.exp(th[1])
            return (U * (1.0 + R * (1.0 - np.exp(-(ratio - 1.0) / R)))) ** (-th[0])
        if k == "satexp":  # saturating effective quantity: 1 - exp(-z / b)
            return 1.0 - np.exp(-z / math.exp(th[0]))
        if k == "sq":  # (x - m)²: an optimum on a log axis (U-shaped scaling)
            return (z - th[0]) ** 2
        if k == "sigm":  # 1 / (1 + exp(-(x - m) / w)): a smooth step on a log axis (emergence)
            return 0.5 * (1.0 + np.tanh((z - th[0]) / (2.0 * math.exp(th[1]))))
        raise ValueError(k)

    def sympy(self, th, names: list[str]) -> tuple[sympy.Expr, dict[str, float], dict[str, tuple]]:
        """(expression in original variables with constant symbols ``names``,
        starting values for those constants, their bounds)."""
        k = self.kind
        xs = [v.sympy() for v in self.vars]
        ss = [v.scale for v in self.vars]
        c = [sympy.Symbol(n, real=True) for n in names]
        x = xs[0]
        if k == "pow":
            return x ** (-c[0]), {names[0]: th[0]}, {names[0]: (-6.0, 6.0)}
        if k == "log":
            return sympy.log(x), {}, {}
        if k == "log2":  # the search fitted (log x/s)²: without a log x term beside it, log(x)² is another law
            return sympy.log(x / _literal(ss[0])) ** 2, {}, {}
        if k == "cross":
            return sympy.log(x / _literal(ss[0])) * sympy.log(xs[1] / _literal(ss[1])), {}, {}
        if k == "pow2":
            return x ** (-c[0]) * xs[1] ** (-c[1]), {names[0]: th[0], names[1]: th[1]}, {names[0]: (-6.0, 6.0), names[1]: (-6.0, 6.0)}
        if k == "sat":
            b = math.exp(th[1]) * ss[0] ** th[0]
            return 1 / (x ** c[0] + c[1]), {names[0]: th[0], names[1]: b}, {names[0]: (0.0, 6.0), names[1]: (0.0, math.inf)}
        if k == "shift":
            b = math.exp(th[1]) * ss[0]
            return (x + c[1]) ** (-c[0]), {names[0]: th[0], names[1]: b}, {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)}
        if k == "exp":
            return sympy.exp(-c[0] * x), {names[0]: th[0] / ss[0]}, {names[0]: (-math.inf, math.inf)}
        if k == "lin":
            return x, {}, {}
        if k == "prod":
            expr = sympy.Mul(*[xi ** (-ci) for xi, ci in zip(xs, c)])
            return expr, {n: float(t) for n, t in zip(names, th)}, {n: (-6.0, 6.0) for n in names}
        if k == "inv":
            return 1 / x, {}, {}
        if k == "expmix":
            expr = sympy.exp(-sympy.Add(*[ci * xi for ci, xi in zip(c, xs)]))
            return expr, {n: float(t) / sj for n, t, sj in zip(names, th, ss)}, {n: (-math.inf, math.inf) for n in names}
        if k == "bpl":
            d, f = math.exp(th[1]) * ss[0], math.exp(th[3])
            return (x ** (-c[0]) * (1 + (x / c[1]) ** (1 / c[3])) ** (-c[2] * c[3]),
                    {names[0]: th[0], names[1]: d, names[2]: th[2], names[3]: f},
                    {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf), names[2]: (-6.0, 6.0), names[3]: (0.0, math.inf)})
        if k == "bowl":
            m = th[0] + math.log(ss[0]) - sum(p * math.log(sj) for p, sj in zip(th[1:], ss[1:]))
            centre = c[0] + sum(cj * sympy.log(xj) for cj, xj in zip(c[1:], xs[1:]))
            starts = {names[0]: m, **{n: float(t) for n, t in zip(names[1:], th[1:])}}
            return (sympy.log(x) - centre) ** 2, starts, {n: (-math.inf, math.inf) for n in names}
        if k == "powmod":
            b = math.exp(th[1]) * ss[1] ** th[2]
            return (x ** (-c[0]) * (1 + c[1] * xs[1] ** (-c[2])), {names[0]: th[0], names[1]: b, names[2]: th[2]},
                    {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf), names[2]: (-6.0, 6.0)})
        if k == "effexp":
            return ((x * (1 - sympy.exp(-xs[1] / c[1]))) ** (-c[0]), {names[0]: th[0], names[1]: math.exp(th[1])},
                    {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)})
        if k == "efflog":
            return ((x * (1 + c[1] * sympy.log(xs[1]))) ** (-c[0]), {names[0]: th[0], names[1]: math.exp(th[1])},
                    {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)})
        if k == "repeat":
            U = xs[1]
            eff = U * (1 + c[1] * (1 - sympy.exp((1 - x / U) / c[1])))
            return eff ** (-c[0]), {names[0]: th[0], names[1]: math.exp(th[1])}, {names[0]: (-6.0, 6.0), names[1]: (0.0, math.inf)}
        if k == "satexp":
            b = math.exp(th[0]) * ss[0]
            return 1 - sympy.exp(-x / c[0]), {names[0]: b}, {names[0]: (0.0, math.inf)}
        if k == "sq":
            return (x - c[0]) ** 2, {names[0]: th[0] * ss[0]}, {names[0]: (-math.inf, math.inf)}
        if k == "sigm":
            w = math.exp(th[1]) * ss[0]
            return (1 / (1 + sympy.exp((c[0] - x) / c[1])), {names[0]: th[0] * ss[0], names[1]: w},
                    {names[0]: (-math.inf, math.inf), names[1]: (0.0, math.inf)})
        raise ValueError(k)


# kind -> (n_theta, complexity, bounds, init grid)
_SPEC = {
    "pow": (1, 4, [(-4.0, 4.0)], [(0.1,), (0.4,), (1.0,), (-0.3,)]),
    "log": (0, 3, [], [()]),
    "log2": (0, 5, [], [()]),
    "cross": (0, 6, [], [()]),
    "lin": (0, 2, [], [()]),
    "pow2": (2, 8, [(-4.0, 4.0), (-4.0, 4.0)], [(0.3, 0.3), (0.3, -0.3), (-0.3, 0.3), (0.6, 0.1)]),
    "sat": (2, 7, [(0.01, 4.0), LOG_B], [(0.3, 0.0), (0.7, 2.0), (0.3, -3.0), (1.0, 5.0)]),
    "shift": (2, 6, [(-4.0, 4.0), LOG_B], [(0.3, -2.0), (0.7, 0.0), (1.0, -5.0), (0.4, 1.0)]),
    "exp": (1, 5, [(-30.0, 30.0)], [(1.0,), (-1.0,), (5.0,), (0.2,)]),
    "prod": (0, 10, [], []),
    "expmix": (0, 8, [], []),  # one exponent per share (sizes vary: see Term)
    "inv": (0, 3, [], [()]),
    "bowl": (0, 9, [], []),  # sizes vary: see Term
    "powmod": (3, 11, [(-4.0, 4.0), LOG_B, (-4.0, 4.0)], [(0.3, 0.0, 0.5), (0.3, 2.0, 0.3), (0.5, -2.0, 1.0)]),
    "effexp": (2, 10, [(-4.0, 4.0), (-5.0, 5.0)], [(0.3, 0.0), (0.3, 1.0), (0.5, -1.0)]),
    "efflog": (2, 10, [(-4.0, 4.0), (-8.0, 4.0)], [(0.3, -1.0), (0.2, 0.0), (0.5, -3.0)]),
    "repeat": (2, 12, [(-4.0, 4.0), (-5.0, 8.0)], [(0.3, 2.7), (0.3, 1.0), (0.5, 4.0)]),  # product of powers of every positive feature (sizes vary: see Term)
    "bpl": (4, 14, [(-4.0, 4.0), LOG_B, (-4.0, 4.0), (-4.0, 3.0)],
            [(0.2, 0.0, 0.3, 0.0), (0.1, 2.0, 0.5, -0.7), (0.5, -2.0, -0.3, 0.0), (0.1, -1.0, 0.3, -0.7)]),
    "satexp": (1, 7, [LOG_B], [(0.0,), (2.0,), (-2.0,)]),
    "sq": (1, 5, [(-5.0, 5.0)], [(0.0,), (0.5,), (-0.5,), (1.0,)]),
    "sigm": (2, 8, [(-5.0, 5.0), (-5.0, 2.0)], [(0.0, -1.0), (0.5, -1.5), (-0.5, -1.5), (0.0, 0.0)]),
}

TERM_KINDS = tuple(_SPEC)
# Kinds a form may hold twice on one variable (A x^-a + B x^-b; a U from two exponentials on a log
# axis; two steps), offered when the table has at most MAX_TWIN_FEATURES features. With two (Chinchilla's
# fig. 4 table) a pair of token powers fitted the rows with a BIC 80 below every other law, so the BIC
# veto left only it, and it extrapolated worse than the refit Chinchilla law (test RMSE 0.018 vs 0.016).
TWIN_KINDS = frozenset({"pow", "exp", "sigm"})
MAX_TWIN_FEATURES = 1


def make_vars(X: dict, features: list[str], *, ratios: bool = True) -> list[Var]:
    """Variables for the grammar: each feature (normalised), plus ratios of positive pairs."""
    out = []
    pos = {}
    for f in features:
        x = np.asarray(X[f], dtype=float)
        positive = bool(np.all(x > 0))
        if positive:
            scale = _round3(float(np.exp(np.mean(np.log(x)))))
        else:
            scale = _round3(float(np.max(np.abs(x)))) or 1.0
        pos[f] = positive
        decades = float(np.log10(x.max() / x.min())) if positive else 0.0
        out.append(Var(f, f, None, scale, positive, decades, float(x.min()), float(x.max())))
    shares = [i for i, v in enumerate(out) if _share(v)]
    if len(shares) >= 2 and np.ptp(sum(np.asarray(X[out[i].num], float) for i in shares)) < 1e-9:
        out[shares[-1]] = dataclasses.replace(out[shares[-1]], closes_mix=True)
    for v in out:  # for repetition terms: is x >= v on every row (tokens >= unique tokens)?
        if v.positive:
            for w in out:
                if w is not v and w.positive:
                    v.ratio_floor[w.name] = float(np.min(np.asarray(X[w.num], float) / np.asarray(X[v.num], float)))
    if ratios:
        pf = [f for f in features if pos[f]]
        for i, a in enumerate(pf):
            for b in pf[i + 1:]:
                r = np.asarray(X[a], float) / np.asarray(X[b], float)
                if np.ptp(np.log(r)) < 1e-9:
                    continue
                out.append(Var(f"{a}/{b}", a, b, _round3(float(np.exp(np.mean(np.log(r))))), True,
                               float(np.log10(r.max() / r.min()))))
    return out


def _round3(s: float) -> float:
    """A scale to three significant digits: the search only needs it roughly, and log terms carry
    it into the law as a literal (``log(params/316000000)``), which should read as a round number."""
    return float(f"{s:.3g}")


def _literal(s: float) -> sympy.Expr:
    return sympy.Integer(int(s)) if s >= 1 and s == int(s) else sympy.Rational(repr(s))


def _share(v: Var) -> bool:
    """A plain column in [0, 1] that is not a size: a mixture proportion (or a rate of that kind)."""
    return v.den is None and 0.0 <= v.min_raw and v.max_raw <= 1.0 and v.min_raw < v.max_raw and not _monotone_size(v)


MONOTONE_ROLES = {"N", "D", "C", "U"}  # model size, data, compute, unique data


def _monotone_size(v: Var) -> bool:
    """True for a plain feature that names a scale (parameters, tokens, compute, unique data):
    a law for loss has no interior optimum in it. Hyperparameters, vocabulary size and
    columns of unknown role may have one."""
    from ..catalog.roles import match_role

    return v.den is None and match_role(v.num) in MONOTONE_ROLES


def term_library(vars_: list[Var], kinds=TERM_KINDS, varying=None) -> list[Term]:
    """Every term of the given kinds that makes sense for these variables.

    Log, power and saturating terms need positive variables; two-variable
    terms use two plain features (not ratios) to keep the library small.
    """
    out = []
    plain = [v for v in vars_ if v.den is None]
    for v in vars_:
        if varying is not None and not varying(v):
            continue
        for k in kinds:
            if k in {"pow2", "cross", "prod", "expmix", "bowl", "powmod", "effexp", "efflog", "repeat"}:
                continue
            if k in {"sq", "sigm"} and not v.log_axis:
                continue  # on a raw positive axis, the bowl (in log x) and saturating terms play these parts
            if not v.positive and k not in {"lin", "exp", "sq", "sigm"}:
                continue
            if v.den is not None and k in {"bpl", "log2", "lin"}:
                continue
            if k in {"lin", "exp"} and not (v.bounded or v.den is not None):
                continue  # linear growth or decay in a raw scale variable does not extrapolate
            if k == "satexp" and v.den is None:
                continue
            out.append(Term(k, (v,)))
    if len(plain) <= MAX_TWIN_FEATURES:  # few features: room for a second term of a kind on one variable
        out += [dataclasses.replace(t, twin=True) for t in list(out) if t.kind in TWIN_KINDS]
    scale_vars = [v for v in plain if v.positive]
    mix = [v for v in plain if _share(v) and not v.closes_mix]
    if "expmix" in kinds and 2 <= len(mix) <= MAX_SHARES:  # Ye et al.'s mixing term (a closing share left out)
        out.append(Term("expmix", tuple(mix)))
    if "prod" in kinds and len(scale_vars) >= 3:
        out.append(Term("prod", tuple(scale_vars)))
    if "bowl" in kinds:  # optimum in x; its centre may move with one or two other features
        for x in scale_vars:
            if _monotone_size(x):
                continue  # more parameters, data or compute never makes loss worse: no optimum in them
            others = [v for v in scale_vars if v is not x]
            out.append(Term("bowl", (x,)))
            out += [Term("bowl", (x, y)) for y in others]
            out += [Term("bowl", (x, y, w)) for i, y in enumerate(others) for w in others[i + 1:]]
    for x in scale_vars:
        for y in plain:
            if y is x:
                continue
            if "powmod" in kinds and y.positive:
                out.append(Term("powmod", (x, y)))
            if y.positive and y.bounded and "effexp" in kinds:
                out.append(Term("effexp", (x, y)))
            if y.positive and y.bounded and y.min_raw >= 1.0 and "efflog" in kinds:
                out.append(Term("efflog", (x, y)))
            if "repeat" in kinds and y.positive and 1.0 - 1e-9 <= y.ratio_floor.get(x.name, 0) <= 1.5:
                out.append(Term("repeat", (x, y)))
    for i, a in enumerate(plain):
        for b in plain[i + 1:]:
            if not (a.positive and b.positive):
                continue
            if "pow2" in kinds:
                out.append(Term("pow2", (a, b)))
            if "cross" in kinds:
                out.append(Term("cross", (a, b)))
    return out
