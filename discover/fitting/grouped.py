"""Per-group fits: one form over several groups, constants per group, some optionally shared.

Why a module of its own: the single-block fitter (:mod:`discover.fitting.solver`)
is the procedure; this is how it is applied to groups. Each group is fitted on
its own (multi-start, or a polish from a warm start), later groups starting
also from their neighbours' solutions since groups share a form; constants named
in ``shared`` are then fitted jointly over all groups
(:class:`~discover.fitting.joint.JointFitter`). Bootstrap draws resample rows
within each group.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..errors import DataError
from ..law import Law
from .bootstrap import bootstrap_groups, bootstrap_joint
from .compile import Compiled, compile_law
from .joint import JointFitter
from .solver import Effort, FitResult, Fitter, Rows, at_bounds, complete


def fit_grouped(law: Law, comp: Compiled, cols, y, w, groups, *, shared: Sequence[str], delta: float,
                log_space: bool, effort: Effort, group_name: str | None,
                clusters: np.ndarray | None = None) -> FitResult:
    """:func:`discover.fitting.fit_law` for rows with group labels (see the module docstring)."""
    seed, max_starts, starts, quick = effort.seed, effort.max_starts, effort.starts, effort.quick
    warm, bootstrap = effort.warm, effort.bootstrap
    groups = np.asarray(groups).astype(str)
    labels = list(dict.fromkeys(groups.tolist()))
    blocks = {}
    for g in labels:
        idx = np.flatnonzero(groups == g)
        blocks[g] = Rows([c[idx] for c in cols], y[idx], w[idx], log_space, None)
        blocks[g].clusters = None if clusters is None else np.asarray(clusters)[idx]
    values, ok_all, cost_all, msgs, ns_all = {}, True, 0.0, [], 0
    previous: list[dict] = []
    if shared:
        # No per-group multi-start when the joint fit has a start: a warm solution, or the
        # projected one (variable projection over the shared constants)
        joint = JointFitter(comp, blocks, shared, delta)
        init = warm if warm is not None and all(complete(warm.get(g), law) for g in blocks) else None
        if init is None:
            start = next((st for st in starts if all(n in st for n in shared)), None)
            init = joint.project(start) if (start is not None and joint.projectable) else None
        if init is not None:
            cost_all, values, ok_all, msg = joint.run(init)
            result = grouped_result(law, values, ok_all, cost_all, [] if ok_all else [str(msg)], 1, group_name,
                                     shared)
            if bootstrap:
                bootstrap_joint(result, comp, blocks, shared, delta, bootstrap, seed, until=effort.bootstrap_until)
            return result
    for g, d in blocks.items():
        if d.n < law.n_constants and not shared:
            raise DataError(f"group {g!r} has {d.n} training rows, fewer than the {law.n_constants} constants of law {law.name}")
        fitter = Fitter(comp if not shared else compile_law(law), d, delta)
        near = None if (warm is None or shared) else warm.get(g)
        warm_start = complete(near, law)
        if warm_start:
            cost, vals, ok, msg = fitter.polish(near)
            ns = 1
        else:
            # Groups share a form, so the last groups' solutions are good starts: later groups
            # screen the same grid but refine fewer starts.
            cost, vals, ok, msg, ns = fitter.run(seed, max_starts, [*starts, *previous[-2:]],
                                                 refine_top=2 if (previous or quick) else None)
        if (warm_start or previous or quick) and not usable(fitter, vals):
            # the short route failed this group (a warm start that overflows on rows it was not
            # fitted on, a curve unlike the last ones): the full multi-start before giving up,
            # or one bad group out of many would sink the whole law
            retry = fitter.run(seed, max_starts, [*starts, *previous[-2:]], refine_top=None)
            if usable(fitter, retry[1]) or vals is None:
                cost, vals, ok, msg, n2 = retry
                ns += n2
        if vals is not None:
            previous.append(vals)
        if vals is None:
            return FitResult(law, False, math.inf, f"group {g}: {msg}")
        values[g], ok_all, cost_all, ns_all = vals, ok_all and ok, cost_all + cost, ns_all + ns
        if not ok:
            msgs.append(f"group {g}: {msg}")
    if shared:
        joint = JointFitter(comp, blocks, shared, delta)
        cost_all, values, ok_all, msg = joint.run(values)
        msgs = [] if ok_all else [str(msg)]
    result = grouped_result(law, values, ok_all, cost_all, msgs, ns_all, group_name, shared)
    if bootstrap and not shared:
        bootstrap_groups(result, comp, blocks, delta, bootstrap, seed, until=effort.bootstrap_until)
    elif bootstrap:
        bootstrap_joint(result, comp, blocks, shared, delta, bootstrap, seed, until=effort.bootstrap_until)
    return result



def usable(fitter: Fitter, vals) -> bool:
    """A group's solution predicts finite values on every one of its own rows."""
    if vals is None:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(fitter.predict(vals))))


def grouped_result(law, values, ok, cost, msgs, n_starts, group_name, shared) -> FitResult:
    constants = {g: {k: float(v[k]) for k in law.params} for g, v in values.items()}
    fitted = law.with_constants(constants, group=group_name or "group", shared=shared)
    bounds = sorted({b for v in values.values() for b in at_bounds(law, v)})
    return FitResult(fitted, ok, cost, "; ".join(msgs[:3]), bounds, n_starts=n_starts)

