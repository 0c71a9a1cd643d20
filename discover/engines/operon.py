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
  value (``Param.init`` and the candidate's ``start``), so the pipeline's fitter
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
are shared with the PySR engine (:mod:`discover.engines.symbolic`).
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version
import math
import time
from typing import Mapping, Sequence

import numpy as np
import sympy

from ..candidate import Candidate
from ..canon import dedupe
from ..errors import DataError
from ..formula import parse_formula
from .base import EngineTask
from .symbolic import MAX_CONSTANTS, MAX_NONLINEAR, InputTransform, expression_to_law, substitute

# Operon's primitive names: + - * / exp log square, constants and variables. No general
# pow: in log-normalised inputs a power law is exp(a*z), and pow(u, v) mostly adds
# redundant constants (k**(a + u) = k**a * k**u).
OPERON_SYMBOLS = "add,sub,mul,div,exp,log,square,constant,variable"


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
    return substitute(expr, variable_map, "Operon model")


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
        try:
            return f"pyoperon {version('pyoperon')}"
        except PackageNotFoundError:
            return "pyoperon (unknown version)"

    def propose(self, task: EngineTask) -> list[Candidate]:
        transform = InputTransform.fit(task.X_train, task.features)
        Z = transform.apply(task.X_train)
        y = np.asarray(task.y_train, dtype=float)
        positive = bool(len(y)) and bool(np.all(y > 0))
        modes = {"both": [True, False], True: [True], False: [False]}[self.log_target]
        modes = [m for m in modes if positive or not m] or [False]
        if len(modes) > 1 and task.time_left * (1.0 - self.reserve) < 2 * 1.5:
            modes = modes[:1]
        laws: list[Candidate] = []
        self.n_tried = 0
        for i, log_target in enumerate(modes):
            window = task.time_left / (len(modes) - i)
            seconds = int(window * (1.0 - self.reserve))
            if seconds < 1:
                break
            laws.extend(self._run(task, transform, Z, y, log_target, seconds, time.monotonic() + window))
        laws.sort(key=lambda c: (c.engine_score, c.law.complexity))
        return dedupe(laws)

    def _run(self, task: EngineTask, transform: InputTransform, Z: np.ndarray, y: np.ndarray, log_target: bool,
             seconds: int, until: float) -> list[Candidate]:
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
            cand = expression_to_law(
                expr, task.features, provenance=f"engine: operon, seed {task.seed}",
                description=f"Operon Pareto front, length {m['length']}, "
                            + ("fitted to log target" if log_target else "fitted to target"),
                grouped=task.grouped, max_constants=min(self.max_constants, task.max_constants or self.max_constants),
                max_nonlinear=self.max_nonlinear,
                engine_model=text, engine_score=val_err, engine_complexity=int(m["length"]), log_target=log_target,
            )
            if cand is not None:
                laws.append(cand)
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
