"""A law compiled into numeric pieces for the fitter, with a cache.

Why a step of its own: SymPy differentiation and ``lambdify`` cost milliseconds
per law, and a search fits the same form hundreds of times (selection fit,
final fit, backtest, bootstrap draws); the cache keys a compiled law by its
formula, variables, constants and bounds, so each form is compiled once.

A compiled law splits the constants into those that enter linearly (solved
exactly by variable projection) and the nonlinear rest:
``pred = f0(x, θ) + Σ c_j F_j(x, θ)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from ..formula import make_symbol
from ..law import Law, compile_numpy


@dataclass
class Compiled:
    """A law turned into fast numeric pieces: pred = f0(x, θ) + Σ c_j F_j(x, θ)."""

    law: Law
    linear: list[str]
    nonlinear: list[str]
    basis: object  # callable(*vars, *θ) -> [f0, F_1..F_m]
    full: object  # callable(*vars, *all constants in law.params order) -> pred
    grad: object = None  # callable(*vars, *constants) -> [∂pred/∂c for c in law.params], or None
    scales: dict = None  # nonlinear constant -> index of the variable it is a scale of (x/b, b + x)




_COMPILE_CACHE: dict = {}


def compile_law(law: Law, shared: Sequence[str] = ()) -> Compiled:
    key = (law.formula, law.variables, tuple(law.params), tuple(shared),
           tuple((p.log_scale, p.lower, p.upper) for p in law.params.values()))
    hit = _COMPILE_CACHE.get(key)
    if hit is not None:
        return Compiled(law, hit.linear, hit.nonlinear, hit.basis, hit.full, hit.grad, hit.scales)
    expr = law.expr
    syms = {n: make_symbol(n) for n in law.params}
    linear: list[str] = []
    for n, p in law.params.items():
        if p.log_scale or n in shared:
            continue
        s = syms[n]
        try:
            d1 = sympy.diff(expr, s)
            if d1 == 0 or d1.has(s):
                continue
            if any(sympy.diff(d1, syms[m]) != 0 for m in linear):
                continue
            # other linear constants must not multiply this one
            linear.append(n)
        except Exception:  # noqa: BLE001 - sympy may not differentiate Min/Max cleanly
            continue
    # Re-check joint affinity: no product terms among chosen linear constants.
    linear = [n for n in linear if all(sympy.diff(expr, syms[n], syms[m]) == 0 for m in linear if m != n)]
    nonlinear = [n for n in law.params if n not in linear]
    f0 = expr.xreplace({syms[n]: 0 for n in linear})
    pieces = [f0] + [sympy.diff(expr, syms[n]) for n in linear]
    vs = [sympy.Symbol(v, positive=True) for v in law.variables]
    basis = compile_numpy(vs + [syms[n] for n in nonlinear], pieces)
    full = compile_numpy(vs + [syms[n] for n in law.params], expr)
    try:
        derivs = [sympy.diff(expr, syms[n]) for n in law.params]
        grad = None if any(d.has(sympy.Heaviside, sympy.DiracDelta, sympy.Subs, sympy.Derivative) for d in derivs) \
            else compile_numpy(vs + [syms[n] for n in law.params], derivs)
    except Exception:  # noqa: BLE001 - fall back to finite differences
        grad = None
    comp = Compiled(law, linear, nonlinear, basis, full, grad, scale_constants(expr, law.variables, nonlinear))
    if len(_COMPILE_CACHE) > 5000:
        _COMPILE_CACHE.clear()
    _COMPILE_CACHE[key] = comp
    return comp


def scale_constants(expr: sympy.Expr, variables: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    """Constants that set the scale of a variable: ``b`` in ``x/b`` or ``b + x``.

    A break point or an offset lives where the data is (a broken power law's
    break near 1e8 parameters), so the fitter also starts such a constant at
    quantiles of that variable instead of only at its default start of 1.
    """
    index = {v: i for i, v in enumerate(variables)}
    wanted = set(names)
    out: dict[str, int] = {}

    def name(a) -> str | None:  # symbols are compared by name (their assumptions may differ)
        return a.name if isinstance(a, sympy.Symbol) else None

    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, (sympy.Add, sympy.Mul)):
            continue
        xs = [index[name(a)] for a in node.args if name(a) in index]
        if not xs:
            continue
        for a in node.args:
            if isinstance(node, sympy.Mul):  # x * b**-1
                a = a.base if isinstance(a, sympy.Pow) and a.exp == -1 else None
            n = name(a) if a is not None else None
            if n in wanted and n not in out:
                out[n] = xs[0]
    return out


def bcast(a, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(a, dtype=float), (n,))


