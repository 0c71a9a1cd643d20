"""The links of the grammar's forms, one class each: how a sum of terms becomes a law.

A form is ``link(intercept + Σ c_k φ_k(θ_k))``. A link knows, in one place:
the nonlinear constants it adds before the terms' own (``lead``) and their
bounds and starts, how many linear coefficients it has, which forms are valid
under it, the linear problem solved for fixed nonlinear constants (variable
projection), the prediction, how a new term enters when the beam screens it,
and how the fitted form is written as a law in the user's variables (its
expression, its constants, and every group's constants from the engine's
per-group coefficients). Adding a link is one new class here, registered with
``@register``.

- ``id``:   y = E + Σ c_k φ_k                  (additive laws: Chinchilla, Tao, Lin ...)
- ``log``:  y = A · Π x^c · exp(Σ c_k φ_k)      (pure power laws, Clark's MoE law, LR bowls)
- ``fexp``: y = E + A · exp(Σ c_k φ_k)          (a floor plus an exp-linear or power part: Ye's mixing law)
- ``pow``:  y = (Σ c_k φ_k)^γ                   (Kaplan's joint law ((N_c/N)^(a/b) + D_c/D)^b)
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from ..law import Param
from .registry import Registry

E_SYM, A_SYM = sympy.Symbol("E", real=True), sympy.Symbol("A", real=True)


class Link:
    """One link. Subclasses override what differs from the additive default."""

    name: str = ""
    complexity: int = 3  # added to a form's complexity
    needs_log_space: bool = True  # only for a positive target (fitted in log space)
    intercepts: tuple[bool, ...] = (True,)  # the single-term forms tried: with an intercept, or also without
    maps_groups: bool = True  # every group's law constants follow from the engine's (group_constants)
    # the design is the terms' columns as they are (after an intercept's column), its target and
    # weights independent of η: a step in one term's constants changes one column of it
    direct: bool = False

    # -- shape
    def n_lead(self, n_terms: int) -> int:
        return 0

    def n_linear(self, intercept: bool, n_terms: int) -> int:
        return int(intercept) + n_terms

    def valid(self, intercept: bool, terms) -> bool:
        return True

    def lead_bounds(self, n_terms: int) -> tuple[list[float], list[float]]:
        return [], []

    # -- numerics
    def design(self, st, eta, cols: list[np.ndarray], intercept: bool, yscale: float):
        """(F: rows × columns, target, row weights): the linear problem for fixed η."""
        raise NotImplementedError

    def predict(self, lin: np.ndarray, eta) -> np.ndarray:
        return lin

    def inner_of(self, eta, j: int) -> float | None:
        """The lead constant of term ``j`` a child form inherits (fexp's inner coefficient)."""
        return None

    def gamma_of(self, eta) -> float | None:
        """The outer exponent a child form inherits (pow's γ)."""
        return None

    def starts(self, theta: np.ndarray, inner: list, gamma: float | None) -> list[np.ndarray]:
        """Full start vectors (lead constants, then the terms') for one start of the terms."""
        return [theta]

    def tilt(self, F: np.ndarray, coef: np.ndarray, gidx: np.ndarray):
        """How a new term's column is weighted when the beam screens it (1: it enters linearly)."""
        return 1.0

    # -- the law
    def law_expr(self, pieces, cs, terms, eta, coef, intercept: bool, starts: dict, params: dict) -> sympy.Expr:
        """The fitted form's expression over the term pieces, adding the link's constants to
        ``starts`` and ``params``; ``coef`` is the first group's linear coefficients."""
        raise NotImplementedError

    def local(self, coef_names: set[str]) -> set[str]:
        """The constants fitted per group in a grouped law (the rest are shared)."""
        return {"E", "A"} | coef_names

    def lead_constants(self, eta, n_terms: int) -> dict[str, float]:
        """The link's own constants at η, as the law names them."""
        return {}

    def group_constants(self, coef, eta, alpha, beta, intercept: bool, n_terms: int) -> dict | None:
        """One group's linear constants of the law from the engine's coefficients on normalised
        columns (each column ``alpha * p + beta`` of the law's piece ``p``); None when they
        cannot be mapped."""
        raise NotImplementedError


LINKS: Registry[Link] = Registry("link")
register = LINKS.register  # class decorator: one instance of the link


def _exp_law(pieces, cs, terms):
    """A · Π x^c · exp(Σ c φ): a log term under exp is a power of its variable."""
    factors, rest = [], []
    for t, p, c in zip(terms, pieces, cs):
        if t.spec.is_log:  # exp(c log x) = x**c
            factors.append(t.vars[0].sympy() ** c)
        else:
            rest.append(c * p)
    return A_SYM * sympy.Mul(*factors) * sympy.exp(sympy.Add(*rest)) if rest else A_SYM * sympy.Mul(*factors)


@register
class Identity(Link):
    """y = E + Σ c_k φ_k."""

    name, complexity, needs_log_space, intercepts = "id", 0, False, (True, False)
    direct = True

    def valid(self, intercept, terms):
        return not (any(t.needs_intercept for t in terms) and not intercept)

    def design(self, st, eta, cols, intercept, yscale):
        scale = 1.0 if st.log_space else yscale
        if intercept:
            cols = [np.ones_like(st.y)] + cols
        return np.stack(cols, axis=-1), st.y, st.w / scale

    def law_expr(self, pieces, cs, terms, eta, coef, intercept, starts, params):
        expr = sum(c * p for c, p in zip(cs, pieces))
        return E_SYM + expr if intercept else expr

    def group_constants(self, coef, eta, alpha, beta, intercept, n_terms):
        icpt = 1 if intercept else 0
        c = coef[icpt:]
        b0 = (float(coef[0]) if icpt else 0.0) + float(c @ beta)
        return {**{f"c{k + 1}": float(c[k] * alpha[k]) for k in range(n_terms)}, "E": b0}


@register
class LogLink(Link):
    """y = A · Π x^c · exp(Σ c_k φ_k): linear in log y."""

    name, direct = "log", True

    def design(self, st, eta, cols, intercept, yscale):
        if intercept:
            cols = [np.ones_like(st.y)] + cols
        return np.stack(cols, axis=-1), st.logy, st.mask

    def predict(self, lin, eta):
        return np.exp(np.clip(lin, -700, 700))

    def law_expr(self, pieces, cs, terms, eta, coef, intercept, starts, params):
        for k, c in enumerate(cs):
            v = float(coef[k + 1]) if intercept else float(coef[k])
            starts[str(c)] = v
            params[str(c)] = Param(str(c), -20.0, 20.0, init=(v,))
        return _exp_law(pieces, cs, terms)

    def group_constants(self, coef, eta, alpha, beta, intercept, n_terms):
        icpt = 1 if intercept else 0
        c = coef[icpt:]
        b0 = (float(coef[0]) if icpt else 0.0) + float(c @ beta)
        return {**{f"c{k + 1}": float(c[k] * alpha[k]) for k in range(n_terms)}, "A": math.exp(min(b0, 700.0))}


@register
class FloorExp(Link):
    """y = E + A · exp(Σ c_k φ_k): the c_k are nonlinear (lead) constants, E and A linear."""

    name = "fexp"

    def n_lead(self, n_terms):
        return n_terms

    def n_linear(self, intercept, n_terms):
        return 2

    def lead_bounds(self, n_terms):
        return [-20.0] * n_terms, [20.0] * n_terms

    def design(self, st, eta, cols, intercept, yscale):
        scale = 1.0 if st.log_space else yscale
        inner = sum(c * col for c, col in zip(eta[: len(cols)], cols))
        return np.stack([np.ones_like(st.y), np.exp(np.clip(inner, -700, 700))], axis=-1), st.y, st.w / scale

    def inner_of(self, eta, j):
        return eta[j]

    def starts(self, theta, inner, gamma):
        out = []
        for sign in (1.0, -1.0):
            cc = np.array([v if v is not None else sign for v in inner], float)
            out.append(np.concatenate([cc, theta]))
        return out

    def tilt(self, F, coef, gidx):
        return F[:, 1] * coef[gidx, 1]  # a new term enters inside the exponent

    def law_expr(self, pieces, cs, terms, eta, coef, intercept, starts, params):
        inner_c = eta[: len(pieces)]
        for k, c in enumerate(cs):
            starts[str(c)] = float(inner_c[k])
            params[str(c)] = Param(str(c), -20.0, 20.0, init=(float(inner_c[k]),))
        return E_SYM + _exp_law(pieces, cs, terms)

    def local(self, coef_names):
        return {"E", "A"}

    def lead_constants(self, eta, n_terms):
        return {f"c{k}": float(eta[k - 1]) for k in range(1, n_terms + 1)}

    def group_constants(self, coef, eta, alpha, beta, intercept, n_terms):
        inner = np.asarray(eta[:n_terms], float)  # E + A exp(sum c_k col_k); the c_k are shared (eta)
        return {"E": float(coef[0]), "A": float(coef[1] * math.exp(min(float(inner @ beta), 700.0))),
                **{f"c{k + 1}": float(inner[k] * alpha[k]) for k in range(n_terms)}}


@register
class PowerLink(Link):
    """y = (Σ c_k φ_k)^γ: linear in y^(1/γ), γ a lead constant."""

    name, maps_groups = "pow", False

    def n_lead(self, n_terms):
        return 1

    def n_linear(self, intercept, n_terms):
        return n_terms

    def valid(self, intercept, terms):
        return not (intercept or any(t.needs_intercept for t in terms))

    def lead_bounds(self, n_terms):
        return [0.01], [5.0]

    def design(self, st, eta, cols, intercept, yscale):
        # y = (F c)^γ  <=>  y^(1/γ) = F c; weights make residuals relative in y
        g = eta[0]
        t = st.y ** (1.0 / g)
        return np.stack(cols, axis=-1), t, st.mask / (g * t)

    def predict(self, lin, eta):
        return np.maximum(lin, 1e-300) ** eta[0]

    def gamma_of(self, eta):
        return eta[0]

    def starts(self, theta, inner, gamma):
        lead = [gamma] if gamma is not None else [0.1, 0.5, 1.0]
        return [np.concatenate([[g], theta]) for g in lead]

    def law_expr(self, pieces, cs, terms, eta, coef, intercept, starts, params):
        gsym = sympy.Symbol("gamma", real=True)
        starts["gamma"] = float(eta[0])
        params["gamma"] = Param("gamma", 0.0, 10.0, init=(float(eta[0]),))
        for k, c in enumerate(cs):
            starts[str(c)] = float(coef[k])
            params[str(c)] = Param(str(c), init=(float(coef[k]),))
        return sympy.Add(*[c * p for c, p in zip(cs, pieces)]) ** gsym

    def local(self, coef_names):
        return set(coef_names)

    def lead_constants(self, eta, n_terms):
        return {"gamma": float(eta[0])}

    def group_constants(self, coef, eta, alpha, beta, intercept, n_terms):
        return None  # no free offset: a column's affine image cannot be absorbed


LINK_NAMES = tuple(LINKS)
