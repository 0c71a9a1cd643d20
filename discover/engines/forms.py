"""Law-shaped forms and their numerics: what the grammar engine searches over.

A *form* is ``link(intercept + Σ c_k φ_k(θ_k))`` with terms from
:mod:`discover.engines.terms` and one of the links of :mod:`discover.engines.links`
(additive, log, floor + exponential, power).

For fixed nonlinear constants η the linear coefficients solve a weighted least
squares problem exactly (variable projection); with groups, each group's
normal equations are summed over its rows and all are solved in one batched
call, with η shared across groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .links import LINK_NAMES, LINKS, Link
from .terms import Term

__all__ = ["Form", "Fitted", "Stack", "FormEval", "form_error", "linear", "solve_many", "LINK_NAMES"]


@dataclass(frozen=True)
class Form:
    """A link, an optional intercept and a sorted set of terms; its constants are the terms'
    nonlinear ones (plus inner coefficients for ``fexp``, γ for ``pow``) and the linear ones."""

    link: str
    intercept: bool
    terms: tuple[Term, ...]

    @property
    def spec(self) -> Link:
        return LINKS[self.link]

    @property
    def terms_key(self) -> str:
        """The term set, whatever the link and intercept."""
        return "+".join(sorted(t.key for t in self.terms))

    @property
    def key(self) -> str:
        return f"{self.link}|{int(self.intercept)}|{self.terms_key}"

    def with_terms(self, terms) -> "Form":
        """The same link with other terms, kept sorted; an intercept when a new term needs one."""
        terms = tuple(sorted(terms, key=lambda x: x.key))
        return Form(self.link, self.intercept or any(t.needs_intercept for t in terms), terms)

    @property
    def n_lead(self) -> int:
        """Nonlinear constants before the terms' own: inner coefficients (fexp) or γ (pow)."""
        return self.spec.n_lead(len(self.terms))

    @property
    def n_theta(self) -> int:
        return self.n_lead + sum(t.n_theta for t in self.terms)

    @property
    def n_linear(self) -> int:
        return self.spec.n_linear(self.intercept, len(self.terms))

    @property
    def n_constants(self) -> int:
        return self.n_theta + self.n_linear

    @property
    def complexity(self) -> int:
        return 2 * self.n_constants + sum(t.complexity for t in self.terms) + self.spec.complexity

    def valid(self) -> bool:
        if not self.terms or not self.spec.valid(self.intercept, self.terms):
            return False
        return len({t.key for t in self.terms}) == len(self.terms)


@dataclass
class Fitted:
    """A form with its constants fitted on the training rows and its errors on held-out ones."""

    form: Form
    theta: list  # per group list of η arrays, or [η] when shared
    coefs: dict  # group -> linear coefficient array
    train_err: float
    val_err: float
    mode: str  # "shared" or "pergroup"
    backtest: tuple | None = None  # (η, {group: coefficients}) fitted below the backtest band
    fold_errors: list = field(default_factory=list)  # the error on each fold (validation, backtest)

    @property
    def score(self) -> float:
        return self.val_err


class Stack:
    """Rows of every group, sorted by group, as flat arrays with each row's group index.

    One form shares its exponents across groups and has linear coefficients per
    group; sums over each group's rows (:meth:`group_sum`) give every group's
    normal equations at once. Flat rather than padded to the longest group:
    learning-curve collections mix curves of 7 and 200 points, and a padded
    (groups x rows) layout did six times the arithmetic of the real rows.
    Rows of a group the fitted groups do not include are left out.
    """

    def __init__(self, Zall: dict, y: np.ndarray, log_space: bool, rows: np.ndarray, groups: np.ndarray,
                 order: list):
        index = {g: i for i, g in enumerate(order)}
        rows = np.asarray(rows, int)
        gi = np.array([index.get(g, -1) for g in groups[rows]], int)
        keep = np.flatnonzero(gi >= 0)
        keep = keep[np.argsort(gi[keep], kind="stable")]
        rows, gi = rows[keep], gi[keep]
        self.G = len(order)
        self.gidx = gi
        self.counts = np.bincount(gi, minlength=self.G)
        self.present = self.counts > 0
        first = np.cumsum(self.counts) - self.counts  # each group's first row
        self._starts = first[self.present]
        self._slot = np.arange(len(rows)) - np.repeat(first, self.counts)  # each row's place in its group
        self.n = len(rows)
        self.y = np.asarray(y, float)[rows]
        self.Z = {k: np.asarray(v, float)[rows] for k, v in Zall.items()}
        self.mask = np.ones(self.n)  # every row counts: the unit weights of the log and pow links
        self.log_space = log_space
        if log_space:
            self.logy = np.log(self.y)
            self.w = 1.0 / self.y
        else:
            self.w = self.mask.copy()

    def group_sum(self, a: np.ndarray) -> np.ndarray:
        """Sums of ``a`` (rows first) over each group's rows: (groups, ...); 0 for a group without rows."""
        out = np.zeros((self.G,) + a.shape[1:])
        if self.n:
            out[self.present] = np.add.reduceat(a, self._starts, axis=0)
        return out

    def padded(self, a: np.ndarray) -> np.ndarray:
        """``a`` laid out as (groups, longest group, ...), zeros past each group's rows: for the
        per-group QR of the term screen, which runs once per beam parent, not per fit."""
        width = int(self.counts.max()) if self.n else 1
        out = np.zeros((self.G, width) + a.shape[1:])
        out[self.gidx, self._slot] = a
        return out


class FormEval:
    """Numeric pieces of a form: design arrays for given nonlinear constants η."""

    def __init__(self, form: Form, log_space: bool, yscale: float):
        self.form = form
        self.log_space = log_space
        self.yscale = yscale
        self.splits = []
        i = form.n_lead
        for t in form.terms:
            self.splits.append((i, i + t.n_theta))
            i += t.n_theta
        lo, hi = form.spec.lead_bounds(len(form.terms))
        for t in form.terms:
            for b in t.bounds():
                lo.append(b[0])
                hi.append(b[1])
        self.lo, self.hi = np.array(lo), np.array(hi)

    def columns(self, st: Stack, eta) -> list[np.ndarray]:
        """Each term's column; an overflow on the way is an inf the solver rejects, not a warning."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return [t.column([st.Z[v.name] for v in t.vars], eta[a:b]) for t, (a, b) in zip(self.form.terms, self.splits)]

    def design(self, st: Stack, eta):
        """(F: rows × columns, target, row weights): the linear problems for fixed η."""
        return self.form.spec.design(st, eta, self.columns(st, eta), self.form.intercept, self.yscale)

    def solve(self, st: Stack, eta, design=None):
        """Per-group linear coefficients (groups × columns) and the linear predictor."""
        F, t, w = self.design(st, eta) if design is None else design
        if not np.all(np.isfinite(F)):
            return None, None
        coef, lin = solve_many(st, F[:, None], t[:, None], w[:, None])
        return (coef[:, 0], lin[:, 0]) if np.all(np.isfinite(coef)) else (None, None)

    def predict(self, st: Stack, eta, coef) -> np.ndarray:
        F, _, _ = self.design(st, eta)
        return self.form.spec.predict(linear(st, F, coef), eta)

    def residual(self, st: Stack, eta) -> np.ndarray:
        design = self.design(st, eta)
        coef, lin = self.solve(st, eta, design)
        if coef is None:
            return np.full(st.n, 1e3)
        _, t, w = design
        return _clean((lin - t) * w)

    def jacobian(self, st: Stack, eta) -> np.ndarray:
        """Forward differences of :meth:`residual` (rows × η), every step's linear problems solved
        in one batched call.

        Why not SciPy's own differences: they call :meth:`residual` once per constant, and on the
        small arrays of a form's fit most of each call is NumPy's per-call overhead, not
        arithmetic. Here a step recomputes only the column of the term whose constant moved (a
        link's lead constants move the design only), and all steps share one solve. The steps are
        SciPy's ('2-point': √eps · max(1, |η|), signed like η, turned back at a bound)."""
        eta = np.asarray(eta, float)
        p = len(eta)
        h = np.sqrt(np.finfo(float).eps) * np.where(eta >= 0, 1.0, -1.0) * np.maximum(1.0, np.abs(eta))
        h = np.where((eta + h > self.hi) | (eta + h < self.lo), -h, h)  # turned back at a bound
        steps = eta + np.diag(h)
        h = steps[np.arange(p), np.arange(p)] - eta  # the step actually taken, after rounding
        F, t, w = self._step_designs(st, eta, steps)
        finite = np.all(np.isfinite(F), axis=(0, 2)) & np.all(np.isfinite(t * w), axis=0)
        F, t, w = (np.where(finite[None, :, None], F, 0.0), np.where(finite, t, 0.0), np.where(finite, w, 0.0))
        coef, lin = solve_many(st, F, t, w)
        r = _clean((lin - t) * w)
        r[:, ~(finite & np.all(np.isfinite(coef), axis=(0, 2)))] = 1e3  # as :meth:`residual` has it
        return (r[:, 1:] - r[:, :1]) / h

    def _step_designs(self, st: Stack, eta, steps):
        """The designs at η and at each step (rows × 1 + steps × columns), targets and weights."""
        base = self.columns(st, eta)
        spec, icpt = self.form.spec, self.form.intercept
        F0, t0, w0 = spec.design(st, eta, base, icpt, self.yscale)
        K = len(steps) + 1
        owner = [None] * self.form.n_lead + [k for k, (a, b) in enumerate(self.splits) for _ in range(a, b)]

        def column(j):
            k = owner[j]
            a, b = self.splits[k]
            term = self.form.terms[k]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return term.column([st.Z[v.name] for v in term.vars], steps[j, a:b])

        if spec.direct:  # one column moves per step; the target and weights stay
            F = np.repeat(F0[:, None], K, axis=1)
            for j in range(len(steps)):
                F[:, j + 1, int(icpt) + owner[j]] = column(j)
            return F, np.broadcast_to(t0[:, None], (st.n, K)), np.broadcast_to(w0[:, None], (st.n, K))
        designs = [(F0, t0, w0)]
        for j in range(len(steps)):
            k = owner[j]
            cols = base if k is None else base[:k] + [column(j)] + base[k + 1:]
            designs.append(spec.design(st, steps[j], cols, icpt, self.yscale))
        return tuple(np.stack([np.broadcast_to(d[i], (st.n,) + d[i].shape[1:]) for d in designs], axis=1)
                     for i in range(3))


def _clean(r: np.ndarray) -> np.ndarray:
    """Residuals the solver can use: non-finite and huge ones become a large finite penalty."""
    return np.clip(np.where(np.isfinite(r), r, 1e3), -1e3, 1e3)


def solve_many(st: Stack, F: np.ndarray, t: np.ndarray, w: np.ndarray):
    """Weighted least squares per group for K designs at once: F is rows × K × columns, t and w
    rows × K. Returns (coefficients: groups × K × columns, linear predictor: rows × K); a design
    that cannot be solved for a group gets NaN coefficients there, the others are unaffected.

    Columns are scaled to unit norm per group before the normal equations (their scales differ
    by orders of magnitude); a group whose solution is not finite or is implausibly large (its
    columns (nearly) collinear) is solved again by SVD least squares."""
    one = st.G == 1
    m = F.shape[-1]
    b = t * w
    with np.errstate(all="ignore"):
        A = F * w[..., None]
        if one:
            norms = np.sqrt(np.einsum("nki,nki->ki", A, A))[None]
        else:
            norms = np.sqrt(st.group_sum(A * A))
        norms[norms == 0] = 1.0
        A = A / (norms[0] if one else norms[st.gidx])
        if one:
            Gm = np.einsum("nki,nkj->kij", A, A)[None]
            rhs = np.einsum("nki,nk->ki", A, b)[None]
        else:
            Gm = st.group_sum(A[..., :, None] * A[..., None, :])
            rhs = st.group_sum(A * b[..., None])
        Gm = Gm + 1e-12 * np.eye(m)
        try:
            coef = np.linalg.solve(Gm, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            coef = np.full_like(rhs, np.nan)
        top = np.abs(b).max(axis=0) if len(b) else np.zeros(b.shape[1])
        bad = ~np.all(np.isfinite(coef), axis=-1) | (np.abs(coef).max(axis=-1) > 1e6 * (top + 1e-300))
        for gi, k in zip(*np.nonzero(bad)):  # (nearly) collinear columns: SVD least squares there
            rows = st.gidx == gi
            try:
                coef[gi, k] = np.linalg.lstsq(A[rows, k], b[rows, k], rcond=1e-12)[0]
            except (np.linalg.LinAlgError, ValueError):
                coef[gi, k] = np.nan
    coef = coef / norms
    return coef, linear(st, F, coef)


def linear(st: Stack, F: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Each row's design row times its group's coefficients: F is rows (× K designs) × columns,
    coef groups (× K) × columns; the result is rows (× K)."""
    if st.G == 1:
        return np.einsum("n...i,...i->n...", F, coef[0])
    return np.einsum("n...i,n...i->n...", F, coef[st.gidx])


def form_error(y: np.ndarray, pred: np.ndarray, log_space: bool) -> float:
    """RMSE, of log values when the target is fitted in log space; inf for an unusable prediction."""
    if len(y) == 0:
        return math.nan
    if not np.all(np.isfinite(pred)):
        return math.inf
    if log_space:
        if np.any(pred <= 0):
            return math.inf
        return float(np.sqrt(np.mean((np.log(pred) - np.log(y)) ** 2)))
    return float(np.sqrt(np.mean((pred - y) ** 2)))
