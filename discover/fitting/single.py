"""A fit of one law on one block of rows: multi-start (or a warm polish), then checks.

Why the checks live here: a single fit can say more about its solution than a
grouped one (the analytic Jacobian of one block tells which constants the rows
leave unidentified), and bootstrap draws of one block are refit from it.
"""

from __future__ import annotations

import math

from ..law import Law
from .bootstrap import bootstrap_single
from .compile import Compiled
from .solver import Effort, FitResult, Fitter, Rows, at_bounds, complete, unidentifiable


def fit_single(law: Law, comp: Compiled, data: Rows, delta: float, effort: Effort) -> FitResult:
    """Fit ``law`` (compiled as ``comp``) to ``data``; see :func:`discover.fitting.fit_law`."""
    fitter = Fitter(comp, data, delta)
    if complete(effort.warm, law):
        cost, values, ok, msg = fitter.polish(effort.warm)
        ns = 1
    else:
        cost, values, ok, msg, ns = fitter.run(effort.seed, effort.max_starts, effort.starts,
                                               refine_top=2 if effort.quick else None)
    if values is None:
        return FitResult(law, False, math.inf, msg, n_starts=ns)
    fitted = law.with_constants({k: float(values[k]) for k in law.params})
    result = FitResult(fitted, ok, cost, str(msg), at_bounds(law, values), n_starts=ns)
    redundant = unidentifiable(fitter, values)
    if redundant:
        result.converged = False
        result.message = (f"constants {', '.join(redundant)} are not identifiable from these rows (singular "
                          f"Jacobian at the solution: only a combination of them is fitted)")
    if effort.bootstrap:
        bootstrap_single(result, comp, data, delta, effort.bootstrap, effort.seed, until=effort.bootstrap_until)
    return result
