"""Compute-optimal allocation: the model size N* and data D* that minimise a
fitted law's predicted loss at a compute budget C = k·N·D (k = 6 by default),
or maximise it when the result's target is a score (``Result.direction``:
an accuracy has its optimum at its largest value).

Any fitted law whose variables include a model-size column (role ``N``) and a
data column (role ``D``) can be used; roles are recognised from the table's
own column names (:func:`discover.roles.match_role`). A compute column
(role ``C``) in the law is set to the budget; any other variable must be given
a fixed value (``fixed={"learning_rate": 3e-4}``).

Two paths:

- *analytic*, for laws of the Chinchilla shape E + A/N^a + B/D^b (a, b, A, B > 0):
  N* = G·(C/k)^(b/(a+b)) with G = (a·A/(b·B))^(1/(a+b)), and D* = C/(k·N*);
- *numerical* otherwise: a grid over log N (with D = C/(k·N)) followed by a
  bounded Brent refinement around the best grid point. A minimum at the edge
  of the search range (no interior optimum) is an error, not an answer.

Bootstrap intervals repeat the calculation for every bootstrap draw of the
constants (``Scored.samples``). The scaling exponents of N* ∝ C^a and
D* ∝ C^b are fitted over budgets from C/``span`` to C·``span``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import sympy
from scipy.optimize import minimize_scalar

from .errors import DataError
from .formula import symbol_name
from .law import Law
from .roles import match_role

DEFAULT_K = 6.0
_GRID = 1601  # points over log N for the numerical path


# --------------------------------------------------------------------- roles
def law_roles(law: Law, features) -> dict[str, str]:
    """``{law variable: role}`` for the variables whose column has a role.

    The law's variables are formula identifiers of the table's columns; each is
    mapped back to its column (``features``) and the column's name decides the role.
    A variable without a known column is looked up by its own name.
    """
    by_symbol = {symbol_name(f): f for f in features or ()}
    out = {}
    for v in law.variables:
        role = match_role(by_symbol.get(v, v))
        if role is not None:
            out[v] = role
    return out


@dataclass
class Setup:
    """What the optimiser needs: which variable is N, which is D, the rest fixed."""

    law: Law
    n_var: str
    d_var: str
    c_var: str | None
    fixed: dict[str, float]
    columns: dict[str, str]  # law variable -> table column


def setup(law: Law, features, fixed: Mapping[str, float] | None = None) -> Setup:
    roles = law_roles(law, features)
    by_symbol = {symbol_name(f): f for f in features or ()}
    columns = {v: by_symbol.get(v, v) for v in law.variables}
    n_vars = [v for v, r in roles.items() if r == "N"]
    d_vars = [v for v, r in roles.items() if r == "D"]
    described = ", ".join(f"{columns[v]}" + (f" ({roles[v]})" if v in roles else " (no role)") for v in law.variables)
    if not n_vars or not d_vars:
        if not n_vars and not d_vars:
            missing = "neither a model-size variable (role N) nor a data variable (role D)"
        else:
            missing = "no model-size variable (role N)" if not n_vars else "no data variable (role D)"
        raise DataError(f"law {law.name} has {missing}, so it cannot allocate compute between N and D "
                        f"(its variables: {described})")
    if len(n_vars) > 1 or len(d_vars) > 1:
        raise DataError(f"law {law.name} has more than one N or D variable ({described}); "
                        "compute-optimal allocation needs exactly one of each")
    n_var, d_var = n_vars[0], d_vars[0]
    c_vars = [v for v, r in roles.items() if r == "C"]
    c_var = c_vars[0] if c_vars else None
    given = {}
    for k, v in dict(fixed or {}).items():
        given[symbol_name(k)] = float(v)
    rest = [v for v in law.variables if v not in (n_var, d_var, c_var)]
    missing = [columns[v] for v in rest if v not in given]
    if missing:
        raise DataError(f"law {law.name} also depends on {', '.join(missing)}; give a value for "
                        f"{'it' if len(missing) == 1 else 'each'} (e.g. --at {missing[0]}=VALUE)")
    unknown = [k for k in given if k not in rest]
    if unknown:
        raise DataError(f"fixed value for {unknown[0]!r}, which is not a variable of law {law.name} "
                        f"other than N, D and compute ({described})")
    return Setup(law, n_var, d_var, c_var, {v: given[v] for v in rest}, columns)


# ------------------------------------------------------------ analytic path
def chinchilla_terms(law: Law, n_var: str, d_var: str, other=()) -> dict[str, sympy.Expr] | None:
    """If the law is E + A·N^-a + B·D^-b (E, A, B, a, b free of N and D), its parts as
    expressions of the constants; else ``None``. ``other`` variables must not appear."""
    if other:
        return None
    N = sympy.Symbol(n_var, positive=True)
    D = sympy.Symbol(d_var, positive=True)
    expr = law.expr
    E = sympy.Integer(0)
    parts: dict[str, Any] = {}
    for term in sympy.Add.make_args(expr):
        has_n, has_d = term.has(N), term.has(D)
        if has_n and has_d:
            return None
        if not has_n and not has_d:
            E = E + term
            continue
        sym, key = (N, "N") if has_n else (D, "D")
        if key in parts:
            return None
        coef, exp = term.as_coeff_exponent(sym)
        if coef.has(sym) or exp.has(sym) or exp == 0:
            return None
        parts[key] = (coef, -exp)
    if set(parts) != {"N", "D"}:
        return None
    (A, a), (B, b) = parts["N"], parts["D"]
    return {"E": E, "A": A, "a": a, "B": B, "b": b}


class _AnalyticForm:
    def __init__(self, law: Law, terms: Mapping[str, sympy.Expr]):
        _, cs = law.symbols()
        self.names = list(law.params)
        self.funcs = {k: sympy.lambdify(cs, v, modules="numpy") for k, v in terms.items()}

    def values(self, constants: Mapping[str, float]) -> dict[str, float] | None:
        args = [float(constants[c]) for c in self.names]
        with np.errstate(all="ignore"):
            out = {k: float(f(*args)) for k, f in self.funcs.items()}
        if not all(math.isfinite(v) for v in out.values()):
            return None
        if not (out["A"] > 0 and out["B"] > 0 and out["a"] > 0 and out["b"] > 0):
            return None
        return out

    @staticmethod
    def n_star(v: Mapping[str, float], C: np.ndarray, k: float) -> np.ndarray:
        a, b, A, B = v["a"], v["b"], v["A"], v["B"]
        G = (a * A / (b * B)) ** (1.0 / (a + b))
        return G * (np.asarray(C, dtype=float) / k) ** (b / (a + b))


# ------------------------------------------------------------ the optimiser
@dataclass
class Optimum:
    """The compute-optimal point of one law at one or more budgets."""

    law: str
    flops: float
    k: float
    n: float
    d: float
    loss: float
    method: str
    columns: dict  # {"N": column, "D": column}
    target: str = "loss"
    intervals: dict = field(default_factory=dict)  # column -> [lo, hi]
    level: float | None = None
    n_draws: int = 0
    exponents: dict = field(default_factory=dict)  # column -> exponent of C
    frontier: dict = field(default_factory=dict)  # "flops", column -> list, and bands
    group: str | None = None
    fixed: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    direction: str = "minimize"  # "maximize": the allocation with the largest predicted score

    def to_dict(self) -> dict:
        n_col, d_col = self.columns["N"], self.columns["D"]
        out = {
            "law": self.law,
            "flops": self.flops,
            "flops_per_param_token": self.k,
            n_col: self.n,
            d_col: self.d,
            self.target: self.loss,
            "tokens_per_param": self.d / self.n,
            "method": self.method,
            "direction": self.direction,
            "intervals": self.intervals,
            "level": self.level,
            "n_bootstrap": self.n_draws,
            "exponents": self.exponents,
            "roles": {"N": n_col, "D": d_col},
        }
        if self.group is not None:
            out["group"] = self.group
        if self.fixed:
            out["fixed"] = self.fixed
        if self.notes:
            out["notes"] = self.notes
        return out


class _Solver:
    def __init__(self, st: Setup, k: float, analytic: bool = True, maximize: bool = False):
        self.st, self.k = st, k
        self.sign = -1.0 if maximize else 1.0  # the optimum of an accuracy is its maximum
        law = st.law
        terms = chinchilla_terms(law, st.n_var, st.d_var, other=[v for v in law.variables if v not in (st.n_var, st.d_var)])
        if not analytic or maximize:
            terms = None
        self.analytic = _AnalyticForm(law, terms) if terms is not None else None

    def loss_at(self, n: np.ndarray, C: float, constants) -> np.ndarray:
        st = self.st
        n = np.atleast_1d(np.asarray(n, dtype=float))
        X = {st.n_var: n, st.d_var: C / (self.k * n)}
        if st.c_var:
            X[st.c_var] = np.full_like(n, C)
        for v, val in st.fixed.items():
            X[v] = np.full_like(n, val)
        return st.law.evaluate(X, constants)

    def solve(self, C: float, constants) -> tuple[float, float, str]:
        """(N*, L*, method) at budget C; raises DataError when there is no interior minimum."""
        if self.analytic is not None:
            v = self.analytic.values(constants)
            if v is not None:
                n = float(self.analytic.n_star(v, C, self.k))
                return n, float(self.loss_at(n, C, constants)[0]), "analytic"
        return self._numeric(C, constants)

    def _numeric(self, C: float, constants) -> tuple[float, float, str]:
        hi = math.log(C / self.k)  # D >= 1
        lo = 0.0  # N >= 1
        if not hi > lo:
            raise DataError(f"compute budget {C:g} is too small for any N, D >= 1 with C = {self.k:g}·N·D")
        x = np.linspace(lo, hi, _GRID)
        f = self.sign * self.loss_at(np.exp(x), C, constants)
        f = np.where(np.isfinite(f), f, np.inf)
        if not np.any(np.isfinite(f)):
            raise DataError(f"law {self.st.law.name} gives no finite prediction along C = {self.k:g}·N·D at C = {C:g}")
        i = int(np.argmin(f))
        if i == 0 or i == len(x) - 1:
            edge = "N = 1" if i == 0 else "D = 1"
            moves = "rising" if self.sign < 0 else "falling"
            raise DataError(f"law {self.st.law.name} has no interior compute-optimal point at C = {C:g}: "
                            f"its prediction keeps {moves} towards {edge}")
        res = minimize_scalar(lambda t: self.sign * float(self.loss_at(np.exp(t), C, constants)[0]),
                              bounds=(x[i - 1], x[i + 1]), method="bounded", options={"xatol": 1e-10})
        t = float(res.x) if res.success and res.fun <= f[i] else float(x[i])
        n = math.exp(t)
        return n, float(self.loss_at(n, C, constants)[0]), "numerical"


def _constants_for(scored, group: str | None):
    law = scored.law
    if law.constants is None:
        raise DataError(f"law {law.name} has no fitted constants")
    if law.grouped:
        if group is None:
            labels = ", ".join(sorted(map(str, law.constants))[:8])
            raise DataError(f"law {law.name} has per-group constants; choose a group with --group (one of: {labels})")
        if str(group) not in law.constants:
            labels = ", ".join(sorted(map(str, law.constants))[:8])
            raise DataError(f"group {group!r} is not one of law {law.name}'s groups ({labels})")
        return law.constants[str(group)], _draws((scored.samples or {}).get(str(group)))
    if group is not None:
        raise DataError(f"law {law.name} has one set of constants, not per group; drop --group")
    return law.constants, _draws(scored.samples)


def _draws(samples) -> list[dict]:
    if not samples:
        return []
    names = list(samples)
    cols = [samples[n] for n in names]
    if not cols or any(not isinstance(c, (list, tuple, np.ndarray)) for c in cols):
        return []
    out = []
    for vals in zip(*cols):
        try:
            d = {n: float(v) for n, v in zip(names, vals)}
        except (TypeError, ValueError):
            continue
        if all(math.isfinite(v) for v in d.values()):
            out.append(d)
    return out


def compute_optimal(result, flops: float, *, law: str | None = None, group: str | None = None,
                    k: float = DEFAULT_K, interval: float = 0.95, span: float = 100.0, n_budgets: int = 9,
                    fixed: Mapping[str, float] | None = None, method: str = "auto") -> Optimum:
    """Compute-optimal N*, D* and predicted target for a fitted law at budget ``flops``: the smallest
    predicted loss, or the largest predicted score when ``result.direction`` is ``"maximize"``.

    ``result`` is a :class:`discover.Result` (``law`` names one of its laws; the
    recommended one by default). ``k`` is the FLOPs per parameter per token
    (C = k·N·D). Intervals come from the law's bootstrap draws, when it has
    them; the exponents of N* and D* against C are fitted over budgets from
    ``flops/span`` to ``flops·span``. ``method``: ``"auto"`` (analytic when the
    law has the Chinchilla shape, else numerical) or ``"numerical"`` (always).
    """
    if method not in ("auto", "numerical"):
        raise DataError(f"method must be 'auto' or 'numerical', got {method!r}")
    try:
        C = float(flops)
        k = float(k)
    except (TypeError, ValueError):
        raise DataError(f"compute budget and flops-per-param-token must be numbers, got {flops!r}, {k!r}") from None
    if not (math.isfinite(C) and C > 0):
        raise DataError(f"compute budget must be a positive number of FLOPs, got {flops!r}")
    if not (math.isfinite(k) and k > 0):
        raise DataError(f"flops per parameter per token must be positive, got {k!r}")
    if not 0 < interval < 1:
        raise DataError(f"interval must be between 0 and 1, got {interval}")
    if not span > 1:
        raise DataError(f"span must be > 1, got {span}")
    scored = result.get(law)
    if not scored.ok:
        raise DataError(f"law {scored.law.name} did not fit ({scored.status}); choose another with --law")
    st = setup(scored.law, result.features, fixed)
    n_col, d_col = st.columns[st.n_var], st.columns[st.d_var]
    collinear = [w for w in result.warnings if "collinear" in str(w) and n_col in str(w) and d_col in str(w)]
    if collinear:
        raise DataError(f"{n_col} and {d_col} were collinear in the fitted runs, so no allocation of compute between "
                        f"them is identified (the law's exponents for them are not); fit on runs that vary them apart")
    constants, draws = _constants_for(scored, group)
    maximize = result.direction == "maximize"
    solver = _Solver(st, k, analytic=method == "auto", maximize=maximize)
    n, loss, method = solver.solve(C, constants)
    d = C / (k * n)
    n_col, d_col = st.columns[st.n_var], st.columns[st.d_var]
    opt = Optimum(law=scored.law.name, flops=C, k=k, n=n, d=d, loss=loss, method=method,
                  columns={"N": n_col, "D": d_col}, target=result.target or "loss", group=group,
                  fixed={st.columns[v]: val for v, val in st.fixed.items()},
                  direction="maximize" if maximize else "minimize")

    budgets = np.geomspace(C / span, C * span, max(3, int(n_budgets)))
    ns = np.array([solver.solve(float(c), constants)[0] for c in budgets])
    ls = np.array([float(solver.loss_at(nv, float(c), constants)[0]) for nv, c in zip(ns, budgets)])
    ds = budgets / (k * ns)
    a = float(np.polyfit(np.log(budgets), np.log(ns), 1)[0])
    opt.exponents = {n_col: a, d_col: float(np.polyfit(np.log(budgets), np.log(ds), 1)[0])}
    opt.frontier = {"flops": budgets.tolist(), n_col: ns.tolist(), d_col: ds.tolist(), opt.target: ls.tolist()}

    if len(draws) > 1:
        q = [(1 - interval) / 2, 1 - (1 - interval) / 2]
        pts, failed = [], 0
        band, loss_band = [], []
        for dr in draws:
            try:
                nb, lb, _ = solver.solve(C, dr)
                row = [solver.solve(float(c), dr)[:2] for c in budgets]
            except DataError:
                failed += 1
                continue
            if not (math.isfinite(nb) and math.isfinite(lb)):
                failed += 1
                continue
            pts.append((nb, C / (k * nb), lb))
            band.append([r[0] for r in row])
            loss_band.append([r[1] for r in row])
        if len(pts) > 1:
            arr = np.array(pts)
            opt.intervals = {
                n_col: np.quantile(arr[:, 0], q).tolist(),
                d_col: np.quantile(arr[:, 1], q).tolist(),
                opt.target: np.quantile(arr[:, 2], q).tolist(),
            }
            b = np.array(band)
            opt.frontier[n_col + "_band"] = np.quantile(b, q, axis=0).tolist()
            opt.frontier[d_col + "_band"] = np.quantile(budgets[None, :] / (k * b), q, axis=0).tolist()
            opt.frontier[opt.target + "_band"] = np.nanquantile(np.array(loss_band), q, axis=0).tolist()
            opt.level = interval
            opt.n_draws = len(pts)
        if failed:
            opt.notes.append(f"{failed} of {len(draws)} bootstrap draws had no interior optimum and were left out")
    else:
        opt.notes.append("no bootstrap draws for this law, so no intervals (fit with bootstrap > 0)")
    return opt


__all__ = ["compute_optimal", "Optimum", "law_roles", "chinchilla_terms", "DEFAULT_K"]
