"""Canonical forms of laws: light simplification, skeletons for dedupe, equivalence.

Two candidates are the same *form* when they differ only in the names or
values of their constants. The skeleton (every constant replaced by one
placeholder) catches most duplicates cheaply; :func:`equivalent` is the
stronger check used to score recovery — each form, refit, must reproduce the
other's curves on the task's inputs, the candidate's at generic constants.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np
import sympy

from .fitting import fit_law
from .errors import DataError
from .formula import make_symbol, to_text
from .law import Law

_PLACEHOLDER = sympy.Symbol("C", real=True)


def skeleton(law: Law) -> str:
    """The formula with every constant replaced by one placeholder symbol."""
    repl = {make_symbol(c): _PLACEHOLDER for c in law.params}
    return sympy.sstr(law.expr.xreplace(repl))


def simplify_law(law: Law, timeout_nodes: int = 120) -> Law:
    """A lightly simplified, equivalent law: powers combined, numbers folded.

    Full ``sympy.simplify`` is slow and can hide structure; powsimp and
    numeric folding keep the law's shape while removing clutter.
    """
    expr = law.expr
    if sum(1 for _ in sympy.preorder_traversal(expr)) > timeout_nodes:
        return law
    try:
        new = sympy.powsimp(expr, force=True)
    except Exception:  # noqa: BLE001 - simplification is best effort
        return law
    if new.free_symbols != expr.free_symbols:
        return law
    if sum(1 for _ in sympy.preorder_traversal(new)) > sum(1 for _ in sympy.preorder_traversal(expr)):
        return law
    auto = law.name in (sympy.sstr(expr), law.formula)  # named by its formula: the name follows the new form
    return dataclasses.replace(law, expr=new, name=to_text(new) if auto else law.name)


def dedupe(laws: list) -> list:
    """Keep the first law of each skeleton (catalog laws first keep their names); the items
    may be laws or candidates (anything with a ``law``), and are kept as they are."""
    seen, out = set(), []
    for item in laws:
        law = getattr(item, "law", item)
        key = (tuple(sorted(law.variables)), skeleton(law), tuple(sorted(law.shared)))
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out


def equivalent(a: Law, b: Law, X: Mapping[str, np.ndarray], *, rtol: float = 1e-3, seed: int = 0,
               draws: int = 3, spread: float = 0.3) -> bool:
    """True when forms ``a`` (fitted) and ``b`` describe the same family of curves on inputs X.

    Both inclusions are checked numerically, which is stricter than comparing
    two fitted curves: ``b`` refit must reproduce ``a``; and at ``draws``
    generic points of ``b``'s family — ``b``'s own constants (those it was
    found with; when it has none, its refit to ``a``) each scaled by a random
    factor exp(N(0, spread)) — ``a`` refit must reproduce ``b``. A bigger form
    that merely contains ``a`` fails the second test (its extra freedom, moved
    off ``a``'s curve, makes curves ``a`` cannot follow); a reparametrisation
    of ``a`` passes both. A term whose contribution in ``b`` as found is below
    ``rtol`` stays below it when scaled, so forms that differ only by such
    negligible terms count as the same (the canonical form drops constants
    that do not matter). ``a`` must have constants.
    """
    if set(a.used_variables) != set(b.used_variables):  # one declared but absent from the formula does not count
        return False
    if skeleton(a) == skeleton(b):
        return True
    ya = a.predict(X)
    if not np.all(np.isfinite(ya)):
        return False
    rb = fit_law(b, X, ya, delta=1.0, seed=seed)
    if rb.law.constants is None or not _close(ya, rb.law.predict(X), rtol):
        return False
    point = b.constants if isinstance(b.constants, Mapping) and not b.grouped else rb.law.constants
    rng = np.random.default_rng(seed)
    base = dataclasses.replace(a, constants=None)
    checked = 0
    for _ in range(10 * draws):
        if checked == draws:
            break
        moved = {k: v * float(np.exp(rng.normal(0.0, spread))) for k, v in point.items()}
        with np.errstate(all="ignore"):
            yb = b.with_constants(moved).predict(X)
        if not np.all(np.isfinite(yb)) or (np.all(ya > 0) and not np.all(yb > 0)):
            continue  # this draw left the family's usable range; draw again
        checked += 1
        ra = fit_law(base, X, yb, delta=1.0, seed=seed, starts=[a.constants])
        if ra.law.constants is None or not _close(yb, ra.law.predict(X), rtol):
            return False
    return checked == draws


def _close(y1, y2, rtol) -> bool:
    if not (np.all(np.isfinite(y1)) and np.all(np.isfinite(y2))):
        return False
    scale = np.maximum(np.abs(y1), 1e-12)
    return float(np.sqrt(np.mean(((y1 - y2) / scale) ** 2))) <= rtol


#: Round values an exponent is fixed to when its fit lands within :data:`ROUND_TOL` of one.
ROUND_EXPONENTS = (0.5, 1.0, 1.5, 2.0, 3.0)
ROUND_TOL = 0.02


def simpler_neighbours(law: Law, redundant: Sequence[str] = (), values: Mapping[str, float] | None = None) -> list[Law]:
    """Laws one step simpler than ``law``: each term of its top-level sum dropped (with the
    constants only it used), each ``redundant`` constant (one the rows could not identify)
    fixed to 1 and to 0, and (with its fitted ``values``) each exponent that landed within
    :data:`ROUND_TOL` of a round value fixed to it (``1/N**0.993`` is written ``1/N`` if the rows
    do not tell them apart). Each says what was done in its provenance; it is refit when scored,
    and the selection rule keeps it only if it predicts the held-out rows as well."""
    out = []
    for name, value in _round_exponents(law, values or {}):
        expr = law.expr.xreplace({make_symbol(name): sympy.Rational(value)})  # 0.5 exactly: read as a square root
        out.append(_variant(law, expr, f"exponent {name} = {values[name]:.4g} fixed to {value:g}"))
    variables = {sympy.Symbol(v, positive=True) for v in law.variables}
    if isinstance(law.expr, sympy.Add):
        terms = list(law.expr.args)
        for i, t in enumerate(terms):
            if not t.free_symbols & variables:
                continue
            rest = sympy.Add(*(terms[:i] + terms[i + 1:]))
            if not rest.free_symbols & variables:
                continue
            out.append(_variant(law, rest, f"term {to_text(t)} dropped"))
    for name in redundant:
        sym = make_symbol(name)
        for value in (1, 0):
            expr = law.expr.xreplace({sym: sympy.Integer(value)})
            if expr.free_symbols & variables and expr != law.expr:
                out.append(_variant(law, expr, f"{name} fixed to {value}"))
    return [v for v in out if v is not None]


def _round_exponents(law: Law, values: Mapping[str, float]) -> list[tuple[str, float]]:
    """(constant, round value) for the constants that are exponents of a variable's power in ``law``
    (as ``x**a`` or ``x**-a``) and whose fitted value is within :data:`ROUND_TOL` of a round one."""
    variables = {sympy.Symbol(v, positive=True) for v in law.variables}
    out = []
    for node in sympy.preorder_traversal(law.expr):
        if not (node.is_Pow and node.base.free_symbols & variables):
            continue
        sym = next((s for s in (node.exp, -node.exp) if s.is_Symbol and str(s) in law.params), None)
        if sym is None or not isinstance(values.get(str(sym)), (int, float)):
            continue
        v = abs(float(values[str(sym)]))
        near = [r for r in ROUND_EXPONENTS if abs(v - r) <= ROUND_TOL and v != r]
        if near:
            out.append((str(sym), math.copysign(near[0], float(values[str(sym)]))))
    return list(dict.fromkeys(out))


def _variant(law: Law, expr: sympy.Expr, what: str) -> Law | None:
    """``law`` with another expression: its constants restricted to those left, unfitted."""
    names = {str(s) for s in expr.free_symbols}
    params = {n: p for n, p in law.params.items() if n in names}
    variables = tuple(v for v in law.variables if v in names)
    try:
        out = Law(name=to_text(expr), expr=expr, variables=variables, params=params,
                  provenance=law.provenance.split(";")[0] + f"; simplified: {what}, refit", citation=law.citation,
                  description=law.description, shared=tuple(n for n in law.shared if n in params))
    except DataError:
        return None
    return out