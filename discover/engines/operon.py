"""The Operon engine: fast genetic programming (``pyoperon``) behind the common pipeline.

Why it is shaped like this:

- **Inputs are log-normalised.** Scaling-law variables span decades, so each
  positive feature ``x`` is handed to Operon as ``z = (log x - mu) / sd``
  (mean and spread of ``log x`` over the training rows); a feature with
  non-positive values is standardised linearly. In ``z`` a power law is
  ``exp(a*z)``, which Operon finds easily.
- **The target is log-transformed when positive** (``log y``), so the search
  minimises log residuals like the fitter. By default (option
  ``log_target="both"``) the budget is split between a search on ``log y`` and
  one on ``y`` itself: on ``log y`` multiplicative laws (``A N^a D^b``) are
  short, on ``y`` the saturating sums that dominate scaling laws
  (``E + A N^-a + B D^-b``) are short (length 11 in ``z``), and GP finds short
  models first. ``log_target=True`` or ``False`` runs one search only. A
  target with non-positive values is always searched as it is.
- **The whole Pareto front is returned**, not only Operon's pick: Operon is run
  with two objectives (accuracy and length, NSGA-II) and every model on the
  final front becomes a candidate; the pipeline refits, scores and selects.
- **Back to the user's variables, symbolically.** Each model string is parsed
  by the safe parser (never evaluated), its variables ``X1..Xn`` are replaced by
  the inverse normalisation ``(log x - mu)/sd``, the expression is tidied
  (``exp(a*log x)`` becomes ``x**a``, numbers are folded, redundant scales in
  products of sums are removed, and products are multiplied out when that
  leaves fewer constants the fitter must search) and every remaining number
  becomes a free constant ``c0, c1, ...`` whose Operon value is its starting
  value (``Param.init`` and ``extra["start"]``), so the pipeline's fitter
  refits it like any other law. Negative exponents are written as published
  laws write them (``c1/N**c2``), so equal forms from different engines and
  the catalog dedupe. Models with more than ``max_constants`` constants, or
  more than ``max_nonlinear`` constants the fitter cannot solve linearly, are
  dropped: nobody reads them and they make the refit slow.
- **Groups are pooled**: Operon searches one law over all groups' rows (it has
  no notion of per-group constants). The pipeline then refits the law per
  group, with the constants that enter nonlinearly (exponents, inner scales)
  shared across groups and the linear ones (offsets, amplitudes) per group.

The helpers :class:`InputTransform`, :func:`tidy` and :func:`expression_to_law`
are shared with the PySR engine.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import sympy

from ..errors import DataError
from ..formula import make_symbol, parse_formula
from ..law import Law, Param
from .base import EngineTask

# Operon's primitive names: + - * / exp log square, constants and variables. No general
# pow: in log-normalised inputs a power law is exp(a*z), and pow(u, v) mostly adds
# redundant constants (k**(a + u) = k**a * k**u).
OPERON_SYMBOLS = "add,sub,mul,div,exp,log,square,constant,variable"
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
                      per_group: Sequence[str] | None = None, extra: Mapping | None = None,
                      max_constants: int = MAX_CONSTANTS, max_nonlinear: int = MAX_NONLINEAR) -> Law | None:
    """A Law in the original variables from an expression whose numbers are the engine's fitted values.

    ``scalars`` are constants that are already symbols (e.g. template parameters)
    with their starting values. Returns None when the expression is no usable law
    (no variable left, too many constants, unknown symbols, non-finite numbers).
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
    return dataclasses.replace(law, name=law.formula, shared=shared,
                               extra={"start": dict(values), **dict(extra or {})})


def fitter_nonlinear(law: Law) -> list[str]:
    """The constants the pipeline's fitter must search nonlinearly (the rest it solves exactly)."""
    from ..fit import compile_law

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


# --------------------------------------------------------------------------- Operon model strings
def parse_operon_model(text: str, variable_map: Mapping[str, sympy.Expr | str]) -> sympy.Expr:
    """Parse one Operon infix model string (``X1``-style variables) into SymPy, safely.

    ``variable_map`` maps Operon's variable names to expressions (SymPy, or formula
    text parsed safely) in the original variables. ``^`` is read as a power with
    Julia/maths precedence. Raises DataError on anything the safe parser rejects
    or on names that are not in ``variable_map``.
    """
    if not isinstance(text, str):
        raise DataError("Operon model is not a string")
    if "#" in text or "\n" in text or "**" in text:
        raise DataError(f"Operon model {text[:80]!r} rejected: unexpected characters")
    expr = parse_formula(text.replace("^", "**"), name="Operon model")
    return _substitute(expr, variable_map, "Operon model")


def _substitute(expr: sympy.Expr, variable_map: Mapping[str, sympy.Expr | str], what: str) -> sympy.Expr:
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


# --------------------------------------------------------------------------- the engine
class OperonEngine:
    """Operon symbolic regression on log-normalised inputs; its Pareto front becomes candidate laws."""

    name = "operon"

    def __init__(self, log_target: bool | str = "both", symbols: str = OPERON_SYMBOLS, max_length: int = 20,
                 max_depth: int = 8, population_size: int = 500, n_threads: int = 1, precision: int = 12,
                 objectives: Sequence[str] = ("r2", "length"), optimizer_iterations: int = 10,
                 reserve: float = 0.3, max_constants: int = MAX_CONSTANTS, max_nonlinear: int = MAX_NONLINEAR):
        if isinstance(log_target, str):
            if log_target.strip().lower() not in {"both", "true", "false", "yes", "no", "1", "0"}:
                raise DataError(f"operon option log_target must be true, false or 'both', not {log_target!r}")
            lt = log_target.strip().lower()
            log_target = "both" if lt == "both" else lt in {"true", "yes", "1"}
        self.log_target = log_target
        self.symbols = symbols
        self.max_length = int(max_length)
        self.max_depth = int(max_depth)
        self.population_size = int(population_size)
        self.n_threads = max(1, min(2, int(n_threads)))
        self.precision = int(precision)
        self.objectives = list(objectives)
        self.optimizer_iterations = int(optimizer_iterations)
        self.reserve = float(reserve)  # fraction of the budget kept for parsing and tidying
        self.max_constants = int(max_constants)
        self.max_nonlinear = int(max_nonlinear)
        self.n_tried = None

    def available(self) -> tuple[bool, str]:
        if importlib.util.find_spec("pyoperon") is None:
            return False, "pyoperon is not installed: pip install 'discover[operon]' (or pip install pyoperon)."
        try:
            import pyoperon.sklearn  # noqa: F401
        except Exception as err:  # noqa: BLE001
            return False, f"pyoperon is installed but cannot be loaded ({type(err).__name__}: {err}); reinstall it with pip install --force-reinstall pyoperon."
        return True, ""

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"pyoperon {version('pyoperon')}"
        except PackageNotFoundError:
            return "pyoperon (unknown version)"

    def propose(self, task: EngineTask) -> list[Law]:
        transform = InputTransform.fit(task.X_train, task.features)
        Z = transform.apply(task.X_train)
        y = np.asarray(task.y_train, dtype=float)
        positive = bool(len(y)) and bool(np.all(y > 0))
        modes = {"both": [True, False], True: [True], False: [False]}[self.log_target]
        modes = [m for m in modes if positive or not m] or [False]
        if len(modes) > 1 and task.time_left * (1.0 - self.reserve) < 2 * 1.5:
            modes = modes[:1]
        laws: list[Law] = []
        self.n_tried = 0
        for i, log_target in enumerate(modes):
            window = task.time_left / (len(modes) - i)
            seconds = int(window * (1.0 - self.reserve))
            if seconds < 1:
                break
            laws.extend(self._run(task, transform, Z, y, log_target, seconds, time.monotonic() + window))
        laws.sort(key=lambda law: (law.extra["val_err"], law.complexity))
        from ..canon import dedupe

        return dedupe(laws)

    def _run(self, task: EngineTask, transform: InputTransform, Z: np.ndarray, y: np.ndarray, log_target: bool,
             seconds: int, until: float) -> list[Law]:
        """One Operon search (target log y or y) for ``seconds``; its Pareto front as laws.

        Front models are turned into laws best validation error first, until the
        clock reaches ``until`` (past it, only until three laws are made, within
        a grace of half the search time; past the grace, the first law that can
        be made, for another half of the search time at most).
        """
        from pyoperon.sklearn import SymbolicRegressor

        with np.errstate(all="ignore"):
            t = np.log(y) if log_target else y
        ok = np.all(np.isfinite(Z), axis=1) & np.isfinite(t)
        Z, t = Z[ok], t[ok]
        if len(t) < 3:
            return []
        reg = SymbolicRegressor(
            allowed_symbols=self.symbols, objectives=self.objectives, max_length=self.max_length,
            max_depth=self.max_depth, population_size=self.population_size, generations=10**7,
            max_evaluations=10**12, optimizer_iterations=self.optimizer_iterations, max_time=int(seconds),
            n_threads=self.n_threads, random_state=int(task.seed),
            initialization_max_length=min(10, self.max_length),
        )
        reg.fit(Z, t)
        self.n_tried += int(reg.stats_.get("residual_evaluations") or 0)

        inverse = transform.inverse_map()
        vmap = {f"X{i + 1}": inverse[name] for i, name in enumerate(transform.names)}
        Zval = transform.apply(task.X_val) if len(task.y_val) else None
        yval = np.asarray(task.y_val, dtype=float)
        front = [(_val_error(reg, m["tree"], Zval, yval, log_target), m["length"], k, m)
                 for k, m in enumerate(reg.pareto_front_)]
        front.sort(key=lambda r: r[:3])
        laws = []
        grace = until + 0.5 * seconds
        for val_err, _, _, m in front:
            now = time.monotonic()
            if (now > until and len(laws) >= 3) or (now > grace and (laws or now > grace + 0.5 * seconds)):
                break  # a search that overran (a loaded machine) still hands over its best model, if it can soon
            text = reg.get_model_string(m["tree"], self.precision)
            try:
                expr = parse_operon_model(text, vmap)
            except DataError:
                continue
            if log_target:
                expr = sympy.exp(expr)
            law = expression_to_law(
                expr, task.features, provenance=f"engine: operon, seed {task.seed}",
                description=f"Operon Pareto front, length {m['length']}, "
                            + ("fitted to log target" if log_target else "fitted to target"),
                grouped=task.grouped, max_constants=self.max_constants, max_nonlinear=self.max_nonlinear,
                extra={"engine_model": text, "val_err": val_err,
                       "length": int(m["length"]), "log_target": log_target},
            )
            if law is not None:
                laws.append(law)
        return laws


def _val_error(reg, tree, Zval, yval, log_target) -> float:
    """Validation RMSE in the pipeline's error space: of log y when the target is positive, of y otherwise.

    The same space for both kinds of run (log target or raw target), so the laws
    of both fronts can be ordered together.
    """
    if Zval is None or not len(yval):
        return math.inf
    ok = np.all(np.isfinite(Zval), axis=1)
    if not np.any(ok):
        return math.inf
    try:
        pred = np.asarray(reg.evaluate_model(tree, Zval[ok]), dtype=float)
    except Exception:  # noqa: BLE001
        return math.inf
    y = yval[ok]
    with np.errstate(all="ignore"):
        if log_target:
            pred = np.exp(pred)
        if np.all(y > 0):
            if np.any(~(pred > 0)):
                return math.inf
            err = float(np.sqrt(np.mean((np.log(pred) - np.log(y)) ** 2)))
        else:
            err = float(np.sqrt(np.mean((pred - y) ** 2)))
    return err if math.isfinite(err) else math.inf
