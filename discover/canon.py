"""Canonical forms of laws: light simplification, skeletons for dedupe, equivalence.

Two candidates are the same *form* when they differ only in the names or
values of their constants. The skeleton (every constant replaced by one
placeholder) catches most duplicates cheaply; :func:`equivalent` is the
stronger check used to score recovery — each form must reproduce the other's
predictions on sample inputs once its constants are refit.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import sympy

from .formula import make_symbol
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
    return dataclasses.replace(law, expr=new, name=law.name if law.name != sympy.sstr(expr) else sympy.sstr(new))


def dedupe(laws: list[Law]) -> list[Law]:
    """Keep the first law of each skeleton (catalog laws first keep their names)."""
    seen, out = set(), []
    for law in laws:
        key = (tuple(sorted(law.variables)), skeleton(law), tuple(sorted(law.shared)))
        if key in seen:
            continue
        seen.add(key)
        out.append(law)
    return out


def equivalent(a: Law, b: Law, X: Mapping[str, np.ndarray], *, rtol: float = 1e-3, seed: int = 0) -> bool:
    """True when ``b``'s form, refit, reproduces fitted law ``a`` on inputs X, and vice versa.

    ``a`` must have constants. Both directions must hold so that a form with
    extra freedom is not called equivalent to a smaller one.
    """
    from .fit import fit_law

    if set(a.variables) != set(b.variables):
        return False
    if skeleton(a) == skeleton(b):
        return True
    ya = a.predict(X)
    if not np.all(np.isfinite(ya)):
        return False
    rb = fit_law(b, X, ya, delta=1.0, seed=seed)
    if rb.law.constants is None or not _close(ya, rb.law.predict(X), rtol):
        return False
    yb = rb.law.predict(X)
    ra = fit_law(dataclasses.replace(a, constants=None), X, yb, delta=1.0, seed=seed, starts=[a.constants])
    return ra.law.constants is not None and _close(yb, ra.law.predict(X), rtol)


def _close(y1, y2, rtol) -> bool:
    if not (np.all(np.isfinite(y1)) and np.all(np.isfinite(y2))):
        return False
    scale = np.maximum(np.abs(y1), 1e-12)
    return float(np.sqrt(np.mean(((y1 - y2) / scale) ** 2))) <= rtol

