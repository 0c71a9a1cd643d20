"""Constants named by their role, and exponents written with the sign a reader expects.

An engine writes constants by position (``c1``, ``a2``, ``b3``), so ``b`` is an
offset in one term, a coefficient in another and a break point in a third.
Before a discovered law is scored, its constants are renamed by what they do in
the formula, the same way for every law:

=============================  ==========================================================
role                           names
=============================  ==========================================================
irreducible part (a constant   ``E``
standing alone in the sum)
coefficient (multiplies a      ``A, B, C, F, G, H, J, K, L, M`` in the order of the formula
term, enters linearly)
exponent                       ``alpha, beta, gamma, delta, epsilon, zeta, eta, theta, ...``
break point (``x/d`` raised    ``d1, d2, ...``
to a constant power)
scale or offset (``x/s``,      ``s1, s2, ...``
``x + s``)
rate (``exp(r*x)``)            ``r1, r2, ...``
anything else                  ``k1, k2, ...``
=============================  ==========================================================

Names a variable already uses are skipped. An exponent whose value (the
engine's start) is negative is flipped, so a decay reads ``A/N**alpha`` with
``alpha > 0``, not ``A*N**c1`` with ``c1 < 0``; the law is the same function
(its bounds and starts are flipped with it). Catalog laws and user formulas
keep the names their authors gave them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping

import sympy

from .candidate import Candidate
from .fitting import scale_constants
from .formula import make_symbol, to_text
from .law import Law, Param

COEFFICIENTS = ("A", "B", "C", "F", "G", "H", "J", "K", "L", "M", "P", "Q", "R", "S", "T", "U", "V", "W")
EXPONENTS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa", "mu", "nu", "xi",
             "rho", "tau", "phi", "chi", "psi", "omega")
FLOOR, COEFFICIENT, EXPONENT, BREAK, SCALE, RATE, OTHER = (
    "floor", "coefficient", "exponent", "break point", "scale", "rate", "constant")
_PREFIX = {BREAK: "d", SCALE: "s", RATE: "r", OTHER: "k"}


def roles(law: Law) -> dict[str, str]:
    """What each constant of ``law`` does in its formula (see the module docstring)."""
    expr = law.expr
    variables = {sympy.Symbol(v, positive=True) for v in law.variables}
    scales = scale_constants(expr, law.variables, list(law.params))
    out = {}
    for name in law.params:
        c = make_symbol(name)
        paths = _paths(expr, c)
        if isinstance(expr, sympy.Add) and paths == [(expr,)]:
            out[name] = FLOOR
        elif paths and all(_in_exponent(path, c, variables) for path in paths):
            out[name] = EXPONENT
        elif name in scales:
            divides = any(isinstance(p[-1], sympy.Pow) and p[-1].exp == -1 for p in paths)
            out[name] = BREAK if divides and any(_raised(path, c) for path in paths) else SCALE
        elif paths and all(_rate(path, variables) for path in paths):
            out[name] = RATE
        elif paths and all(_added_to_variable_term(path, variables) for path in paths):
            out[name] = SCALE  # an offset: (s + x**a)
        elif all(_multiplies_a_term(path) for path in paths):
            out[name] = COEFFICIENT
        else:
            out[name] = OTHER
    return out


def _paths(expr: sympy.Expr, c: sympy.Symbol) -> list[tuple]:
    """Every chain of nodes from the root down to (not including) an occurrence of ``c``."""
    out = []

    def walk(node, chain):
        for a in node.args:
            if a == c:
                out.append(chain + (node,))
            elif a.has(c):
                walk(a, chain + (node,))

    if expr == c:
        return [()]
    walk(expr, ())
    return out


def _in_exponent(path: tuple, c, variables) -> bool:
    """On this path ``c`` sits in the exponent of a power of an expression that holds a variable."""
    for parent, child in zip(path, path[1:] + (c,)):
        if isinstance(parent, sympy.Pow) and parent.exp.has(child) and not parent.base.has(child) \
                and parent.base.free_symbols & variables:
            return True
    return False


def _raised(path: tuple, c) -> bool:
    """``c`` scales a variable inside a power whose exponent holds constants (a broken power law's break)."""
    return any(isinstance(n, sympy.Pow) and n.base.has(c) and n.exp.free_symbols for n in path)


def _added_to_variable_term(path: tuple, variables) -> bool:
    """``c`` is a term of a sum (below the top) whose other terms hold a variable."""
    return len(path) >= 2 and isinstance(path[-1], sympy.Add) and bool(path[-1].free_symbols & variables)


def _multiplies_a_term(path: tuple) -> bool:
    """``c`` is a factor of a term of a sum (at any depth) or of the whole product."""
    if not path:
        return True
    parent = path[-1]
    if not isinstance(parent, sympy.Mul):
        return False
    return len(path) == 1 or isinstance(path[-2], sympy.Add)


def _rate(path: tuple, variables) -> bool:
    """``c`` multiplies a variable directly inside an exponential: exp(c*x)."""
    return len(path) >= 2 and isinstance(path[-1], sympy.Mul) and isinstance(path[-2], sympy.exp) \
        and bool(path[-1].free_symbols & variables)


def readable(cand: Candidate) -> Candidate:
    """The candidate with its constants named by role and its exponents positive (an exact rewrite);
    catalog laws and user formulas are returned as they are."""
    law = cand.law
    if not str(law.provenance).startswith("engine"):
        return cand
    start = dict(cand.start or {})
    flips = [n for n, r in roles(law).items()
             if r == EXPONENT and start.get(n, 0.0) < 0 and not law.params[n].log_scale]
    law = _flip(law, flips)
    mapping = role_names(law)
    law = law.rename_constants(mapping)
    suffix = cand.law.name[len(cand.law.name.split(" [")[0]):]  # an engine's " [per group]" stays
    law = dataclasses.replace(law, name=to_text(law.expr) + suffix if _auto_named(cand.law) else law.name,
                              shared=tuple(mapping.get(n, n) for n in law.shared))

    def moved(values: Mapping | None):
        if values is None:
            return None
        return {mapping.get(n, n): (-float(v) if n in flips else float(v)) for n, v in values.items()}

    def moved_groups(groups):
        return None if groups is None else {g: moved(v) for g, v in groups.items()}

    return dataclasses.replace(cand, law=law, start=moved(cand.start) if cand.start is not None else None,
                               group_starts=moved_groups(cand.group_starts),
                               group_starts_backtest=moved_groups(cand.group_starts_backtest))


def _auto_named(law: Law) -> bool:
    """The law's name is its formula (possibly with an engine's suffix), so it follows a renaming."""
    return law.name.split(" [")[0] == law.formula


def role_names(law: Law) -> dict[str, str]:
    """{old name: new name} for every constant, by role, in the order the formula shows them."""
    r = roles(law)
    text = law.formula
    order = sorted(law.params, key=lambda n: (_position(text, n), n))
    taken = {*law.variables, *(v.lower() for v in law.variables)}
    used, count, out = set(), {}, {}
    for n in order:
        role = r[n]
        if role == FLOOR and "E" not in taken and "E" not in used:
            new = "E"
        elif role in (COEFFICIENT, FLOOR):
            new = next(x for x in COEFFICIENTS if x not in taken and x not in used)
        elif role == EXPONENT:
            new = next((x for x in EXPONENTS if x not in taken and x not in used), None) or _numbered("a", taken, used, count)
        else:
            new = _numbered(_PREFIX[role], taken, used, count)
        used.add(new)
        out[n] = new
    return out


def _numbered(prefix: str, taken, used, count) -> str:
    while True:
        count[prefix] = count.get(prefix, 0) + 1
        name = f"{prefix}{count[prefix]}"
        if name not in taken and name not in used:
            return name


def _position(text: str, name: str) -> int:
    m = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text)
    return m.start() if m else len(text)


def _flip(law: Law, names) -> Law:
    """``law`` with each named constant replaced by its negative (bounds and starts flipped)."""
    if not names:
        return law
    repl = {make_symbol(n): -make_symbol(n) for n in names}
    params = {}
    for n, p in law.params.items():
        if n in names:
            p = Param(n, -p.upper, -p.lower, init=tuple(sorted(-v for v in p.init)), log_scale=False)
        params[n] = p
    return dataclasses.replace(law, expr=law.expr.xreplace(repl), params=params)
