"""Bootstrap intervals: rows (or whole clusters of rows: the evaluations of one run) resampled with
replacement, each draw refit warm.

Why warm: a draw is a nearby problem, so a robust polish from the solution (at a
looser tolerance) finds its optimum at a fraction of a full multi-start's cost.
Draws resample rows within each group; a joint fit (shared constants) is redone
over all groups per draw. Percentile intervals for every constant.
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

import numpy as np

from .compile import Compiled
from .joint import JointFitter
from .solver import FitResult, Fitter, Rows


def refit_warm(comp: Compiled, data: Rows, delta: float, values: Mapping[str, float]):
    f = Fitter(comp, data, delta)
    cost, vals, ok, _ = f.polish(values, fast=True)
    return vals if np.isfinite(cost) else None


def bootstrap_single(result: FitResult, comp, data: Rows, delta, B: int, seed: int, until: float | None = None):
    draws = resample(comp, data, delta, result.law.constants, B, np.random.default_rng(seed + 7919), until)
    result.samples = draws
    result.intervals = {n: interval(v) for n, v in draws.items()}


def resample(comp: Compiled, data: Rows, delta: float, base: Mapping[str, float], B: int,
              rng: np.random.Generator, until: float | None = None) -> dict[str, list[float]]:
    """B bootstrap refits of one block of rows (rows drawn with replacement), each polished
    from ``base``: {constant: values}, failed refits left out; none begun past ``until``."""
    draws = {n: [] for n in base}
    for _ in range(B):
        if until is not None and time.monotonic() > until:
            break
        vals = refit_warm(comp, data.subset(data.draw(rng)), delta, base)
        if vals is None:
            continue
        for n in draws:
            draws[n].append(float(vals[n]))
    return draws


def interval(values: Sequence[float], level: float = 0.95):
    if len(values) < 2:
        return None
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return [float(lo), float(hi)]


def bootstrap_groups(result: FitResult, comp, blocks: dict, delta, B: int, seed: int, until: float | None = None):
    rng = np.random.default_rng(seed + 7919)
    samples, intervals = {}, {}
    for i, (g, d) in enumerate(blocks.items()):  # one generator through the groups in turn
        # each group its share of the time left, so the last ones are not left without draws
        share = None if until is None else time.monotonic() + (until - time.monotonic()) / (len(blocks) - i)
        draws = resample(comp, d, delta, result.law.constants[g], B, rng, share)
        samples[g] = draws
        intervals[g] = {n: interval(v) for n, v in draws.items()}
    result.samples = samples
    result.intervals = intervals


def bootstrap_joint(result: FitResult, comp, blocks: dict, shared, delta, B: int, seed: int,
                    until: float | None = None):
    """Rows resampled within every group, the joint fit (shared constants) redone warm per draw."""
    rng = np.random.default_rng(seed + 7919)
    base = result.law.constants
    samples = {g: {n: [] for n in base[g]} for g in blocks}
    for _ in range(B):
        if until is not None and time.monotonic() > until:
            break
        draw = {g: d.subset(d.draw(rng)) for g, d in blocks.items()}
        try:
            cost, vals, _, _ = JointFitter(comp, draw, shared, delta).run(base, fast=True)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if not np.isfinite(cost):
            continue
        for g in blocks:
            for n in samples[g]:
                samples[g][n].append(float(vals[g][n]))
    result.samples = samples
    result.intervals = {g: {n: interval(v) for n, v in d.items()} for g, d in samples.items()}
