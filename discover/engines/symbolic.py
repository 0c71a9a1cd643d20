"""What symbolic-regression engines (Operon, PySR) share: inputs on a log scale, and
the engine's expression back as a law in the user's variables.

Why shared: both engines search on log-normalised inputs (``z = (log x - mu)/sd``
for a positive feature), and both return expressions full of fitted numbers in
``z``. Turning those into laws is one procedure -- substitute the inverse
normalisation, tidy (``exp(a*log x)`` becomes ``x**a``, numbers fold, redundant
scales in products of sums go), lift every remaining number into a free constant
whose engine value is its start, and keep the variant with the fewest constants
the fitter must search -- so equal forms from different engines and the catalog
dedupe.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import sympy

from ..candidate import Candidate
from ..errors import DataError
from ..fitting import compile_law
from ..formula import make_symbol, parse_formula
from ..law import Law, Param

# A law with more free constants than this is not one anyone will read, and the
# pipeline's multi-start fitter gets slow (tens of seconds per law) beyond it.
MAX_CONSTANTS = 10
# Constants the fitter cannot solve exactly (exponents, inner coefficients) are what
# make refitting slow: its multi-start grid grows with them. More than this and a
# candidate is dropped.
MAX_NONLINEAR = 5


# --------------------------------------------------------------------------- input normalisation
@dataclass(frozen=True)
class InputTransform:
    """Per-feature normalisation: ``z = (log x - mu)/sd`` (positive features) or ``(x - mu)/sd``.

    ``names`` are the identifiers the engine sees (``z0, z1, ...``), in feature order.
    """

    features: tuple[str, ...]
    kinds: tuple[str, ...]  # "log" or "lin"
    mu: tuple[float, ...]
    sd: tuple[float, ...]
    names: tuple[str, ...]

    @classmethod
    def fit(cls, X: Mapping[str, np.ndarray], features: Sequence[str], prefix: str = "z") -> "InputTransform":
        kinds, mus, sds = [], [], []
        for f in features:
            x = np.asarray(X[f], dtype=float)
            positive = bool(len(x)) and bool(np.all(np.isfinite(x))) and bool(np.all(x > 0))
            v = np.log(x) if positive else x
            v = v[np.isfinite(v)]
            mu = float(np.mean(v)) if len(v) else 0.0
            sd = float(np.std(v)) if len(v) else 1.0
            if not math.isfinite(sd) or sd <= 1e-12:
                sd = 1.0
            kinds.append("log" if positive else "lin")
            mus.append(mu)
            sds.append(sd)
        names = tuple(f"{prefix}{i}" for i in range(len(features)))
        return cls(tuple(features), tuple(kinds), tuple(mus), tuple(sds), names)

    def apply(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        cols = []
        for f, k, mu, sd in zip(self.features, self.kinds, self.mu, self.sd):
            x = np.asarray(X[f], dtype=float)
            with np.errstate(all="ignore"):
                v = np.log(x) if k == "log" else x
            cols.append((v - mu) / sd)
        return np.column_stack(cols) if cols else np.zeros((0, 0))

    def inverse_map(self) -> dict[str, sympy.Expr]:
        """Engine variable name -> the same quantity in the original variable (symbolic)."""
        out = {}
        for name, f, k, mu, sd in zip(self.names, self.features, self.kinds, self.mu, self.sd):
            x = sympy.Symbol(f, positive=True)
            base = sympy.log(x) if k == "log" else x
            out[name] = (base - sympy.Float(mu)) / sympy.Float(sd)
        return out

    def forward_map(self) -> dict[str, sympy.Expr]:
        """Original variable -> its expression in the engine variable (for seeding guesses)."""
        out = {}
        for name, f, k, mu, sd in zip(self.names, self.features, self.kinds, self.mu, self.sd):
            z = sympy.Symbol(name, real=True)
            inner = sympy.Float(sd) * z + sympy.Float(mu)
            out[f] = sympy.exp(inner) if k == "log" else inner
        return out


# --------------------------------------------------------------------------- expression -> Law
def _split_exp(e: sympy.Expr) -> sympy.Expr:
    arg = sympy.expand_mul(e.args[0])
    terms = sympy.Add.make_args(arg)
    if len(terms) == 1:
        return sympy.exp(arg)
    return sympy.Mul(*[sympy.exp(t) for t in terms])


def _is_number_power(e) -> bool:
    return isinstance(e, sympy.Pow) and e.base.is_Number and e.base.is_positive and not e.exp.is_Number


def _n_floats(expr: sympy.Expr) -> int:
    return sum(1 for n in sympy.preorder_traversal(expr) if isinstance(n, sympy.Float) and n != 0)


def _scale_of(factor) -> sympy.Float | None:
    """The number that makes a sum factor start at 1 (its constant, else its first coefficient)."""
    base = factor.base if isinstance(factor, sympy.Pow) else factor
    n, _ = base.as_coeff_Add()
    if isinstance(n, sympy.Float) and n != 0:
        return n
    for term in sympy.Add.make_args(base):
        c, _ = term.as_coeff_Mul()
        if isinstance(c, sympy.Float) and c != 0:
            return c
    return None


def _monic_factor(factor, scale):
    base = factor.base if isinstance(factor, sympy.Pow) else factor
    terms = []
    for term in sympy.Add.make_args(base):
        c, rest = term.as_coeff_Mul()
        if c == scale:
            terms.append(rest)  # exactly the scale: the term becomes 1 * rest, with no free number
        else:
            terms.append((c / scale) * rest)
    new = sympy.Add(*terms)
    return new**factor.exp if isinstance(factor, sympy.Pow) else new


def _is_sum_factor(f) -> bool:
    return isinstance(f, sympy.Add) or (isinstance(f, sympy.Pow) and isinstance(f.base, sympy.Add)
                                         and isinstance(f.exp, sympy.Integer))


def _monic(expr: sympy.Expr) -> sympy.Expr:
    """Remove scale redundancy in products of sums: ``k (a + b u)(c + d v)`` -> ``k' (1 + b' u)(1 + d' v)``."""
    if expr.is_Atom or not expr.args:
        return expr
    expr = expr.func(*[_monic(a) for a in expr.args])
    if not isinstance(expr, sympy.Mul):
        return expr
    coeff, rest = expr.as_coeff_Mul()
    factors = sympy.Mul.make_args(rest)
    sums = [f for f in factors if _is_sum_factor(f)]
    if not sums or not (isinstance(coeff, sympy.Float) or len(sums) >= 2):
        return expr
    new_factors = []
    for f in factors:
        scale = _scale_of(f) if _is_sum_factor(f) else None
        if scale is None:
            new_factors.append(f)
            continue
        new_factors.append(_monic_factor(f, scale))
        coeff = coeff * (scale**f.exp if isinstance(f, sympy.Pow) else scale)
    return sympy.Mul(coeff, *new_factors)


def tidy(expr: sympy.Expr, max_nodes: int = 400) -> sympy.Expr:
    """A readable form with the same values and fewer free numbers.

    ``exp(a + b log x)`` becomes ``e^a x^b`` (and ``k**(a + u)`` becomes
    ``k^a k^u``) so numbers fold; logs of products are split; scale
    redundancy in products of sums is removed (:func:`_monic`).
    """
    if sum(1 for _ in sympy.preorder_traversal(expr)) > max_nodes:
        return expr
    try:
        out = expr.replace(_is_number_power, lambda e: sympy.exp(sympy.log(e.base) * e.exp))
        out = out.replace(lambda e: isinstance(e, sympy.exp), _split_exp)
        out = sympy.expand_log(out)  # only where the assumptions allow (positive variables)
        out = out.replace(lambda e: isinstance(e, sympy.exp), _split_exp)
        out = sympy.powsimp(out)
        out = _monic(out)
    except Exception:  # noqa: BLE001 - tidying is cosmetic, never fatal
        return expr
    return out


def _variants(expr: sympy.Expr, max_nodes: int = 400) -> list[sympy.Expr]:
    """The tidied expression, and its products of sums multiplied out (more, but linear, coefficients)."""
    out = [tidy(expr, max_nodes)]
    try:
        expanded = _monic(sympy.expand_mul(out[0]))
        if expanded != out[0] and sum(1 for _ in sympy.preorder_traversal(expanded)) <= max_nodes:
            out.append(expanded)
    except Exception:  # noqa: BLE001
        pass
    return out


def _in_exponent(expr: sympy.Expr, sym: sympy.Symbol) -> bool:
    return any(isinstance(n, sympy.Pow) and sym in n.exp.free_symbols for n in sympy.preorder_traversal(expr))


def lift_constants(expr: sympy.Expr, taken: set[str], prefix: str = "c") -> tuple[sympy.Expr, dict[str, float]]:
    """Replace every floating-point number by its own constant symbol; return the values.

    A negative numeric exponent becomes a positive constant under a division
    (``x**-0.3`` -> ``1/x**a``, ``a = 0.3``), as published laws are written.
    """
    values: dict[str, float] = {}
    counter = [0]

    def new_name() -> str:
        while True:
            name = f"{prefix}{counter[0]}"
            counter[0] += 1
            if name not in taken:
                return name

    def walk(e):
        if isinstance(e, sympy.Pow) and isinstance(e.exp, sympy.Float) and e.exp < 0 and not e.base.is_Number:
            # x**-0.3 -> 1/x**a with a = 0.3: the published laws' convention (A/N**alpha), so forms compare
            name = new_name()
            values[name] = -float(e.exp)
            return 1 / walk(e.base) ** make_symbol(name)
        if isinstance(e, sympy.Float):
            v = float(e)
            if v == 0.0:
                return sympy.Integer(0)
            name = new_name()
            values[name] = v
            return make_symbol(name)
        if e.is_Atom or not e.args:
            return e
        return e.func(*[walk(a) for a in e.args])

    return walk(expr), values


def expression_to_law(expr: sympy.Expr, features: Sequence[str], *, provenance: str, description: str = "",
                      scalars: Mapping[str, float] | None = None, grouped: bool = False,
                      per_group: Sequence[str] | None = None, max_constants: int = MAX_CONSTANTS,
                      max_nonlinear: int = MAX_NONLINEAR, **facts) -> Candidate | None:
    """A law in the original variables from an expression whose numbers are the engine's fitted
    values; the candidate starts its refit from those values.

    ``scalars`` are constants that are already symbols (e.g. template parameters)
    with their starting values; ``facts`` are the engine's own fields of the
    :class:`~discover.candidate.Candidate` (``engine_model``, ``engine_score``,
    ...). Returns None when the expression is no usable law (no variable left,
    too many constants, unknown symbols, non-finite numbers).
    """
    scalars = dict(scalars or {})
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan) or expr.has(sympy.I):
        return None
    best, best_cost = None, None
    for variant in _variants(expr):
        law = _build_law(variant, features, scalars, provenance, description)
        if law is None:
            continue
        n_nonlinear = len(fitter_nonlinear(law))
        cost = (n_nonlinear > max_nonlinear or law.n_constants > max_constants, n_nonlinear, law.n_constants)
        if best_cost is None or cost < best_cost:
            best, best_cost = law, cost
    if best is None or best_cost[0]:
        return None
    law = best
    values = {n: p.init[0] for n, p in law.params.items()}
    shared: tuple[str, ...] = ()
    if grouped:
        local = set(per_group) if per_group is not None else set(law.params) - set(fitter_nonlinear(law))
        shared = tuple(n for n in law.params if n not in local)
    return Candidate(dataclasses.replace(law, name=law.formula, shared=shared), start=dict(values), **facts)


def fitter_nonlinear(law: Law) -> list[str]:
    """The constants the pipeline's fitter must search nonlinearly (the rest it solves exactly)."""
    try:
        return list(compile_law(law).nonlinear)
    except Exception:  # noqa: BLE001
        return list(law.params)


def _build_law(expr, features, scalars, provenance, description) -> Law | None:
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan) or expr.has(sympy.I):
        return None
    if not any(sympy.Symbol(f, positive=True) in expr.free_symbols for f in features):
        return None
    expr, values = lift_constants(expr, set(features) | set(scalars))
    values.update(scalars)
    free = {str(s) for s in expr.free_symbols}
    if free - set(features) - set(values):
        return None
    values = {k: v for k, v in values.items() if k in free}
    if not all(math.isfinite(v) for v in values.values()):
        return None
    params = {}
    for name, v in values.items():
        if _in_exponent(expr, make_symbol(name)):
            bound = max(10.0, 2.0 * abs(v))
            params[name] = Param(name, -bound, bound, init=(v,))
        else:
            params[name] = Param(name, init=(v,))
    feats = [f for f in features if f in free]
    try:
        return Law(name="", expr=expr, variables=tuple(feats), params=params, provenance=provenance,
                   description=description)
    except DataError:
        return None




def substitute(expr: sympy.Expr, variable_map: Mapping[str, sympy.Expr | str], what: str) -> sympy.Expr:
    repl = {}
    for s in expr.free_symbols:
        n = str(s)
        if n not in variable_map:
            raise DataError(f"{what} uses unknown name {n!r}")
        target = variable_map[n]
        if isinstance(target, str):
            target = parse_formula(target, name=f"variable map entry {n!r}")
            target = target.xreplace({t: sympy.Symbol(str(t), positive=True) for t in target.free_symbols})
        repl[s] = target
    return expr.xreplace(repl)


