"""The built-in grammar engine: law-shaped expressions, searched within a time budget.

Why a grammar and not free-form symbolic regression: scaling laws are sums of
saturating power terms, interactions, and (for hyperparameters) bowls in log
space. Searching *that* space exhaustively for small forms and by beam search
for larger ones finds the published laws and their better variants in minutes
on a laptop, and every candidate is fitted properly (variable projection: the
linear coefficients are solved exactly, only exponents are searched).

A *form* is ``link(intercept + Σ c_k φ_k(θ_k))`` with terms from
:mod:`discover.engines.terms` and one of three links:

- ``id``:   y = E + Σ c_k φ_k                  (additive laws: Chinchilla, Tao, Lin ...)
- ``log``:  y = A · Π x^c · exp(Σ c_k φ_k)      (pure power laws, Clark's MoE law, LR bowls)
- ``fexp``: y = E + A · exp(Σ c_k φ_k)          (a floor plus an exp-linear or power part: Ye's mixing law)
- ``pow``:  y = (Σ c_k φ_k)^γ                   (Kaplan's joint law ((N_c/N)^(a/b) + D_c/D)^b)

With groups, one form is fitted with exponents shared across groups and
linear coefficients per group (fast, robust on few rows per group); the best
forms are also tried with every constant per group.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import sympy
from scipy.optimize import least_squares

from ..errors import DataError
from ..law import Law, Param
from .base import EngineTask
from .terms import TERM_KINDS, Term, make_vars, term_library

LINKS = ("id", "log", "fexp", "pow")
THETA_PREFIXES = ("a", "b", "g", "h", "p", "q", "s", "u")  # names of term constants: a1, b1, ...
# validation band, backtest band: the engine ranks forms on both (two folds are steadier for
# pruning a beam); the pipeline then chooses among the handed-over laws on validation alone
FOLD_WEIGHTS = (2.0, 1.0)
BEAM_PER_TERMS = 2  # forms with the same terms (different links) the beam keeps
REDUCE_SHARE = 0.15  # of the budget left after single terms (time or forms): simpler neighbours of the best forms
COMPLEXITY_BAND, NEAR_BEST = 5, 1.5  # handed over too: each band's best form within 1.5x the best error


@dataclass(frozen=True)
class Form:
    link: str
    intercept: bool
    terms: tuple[Term, ...]

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
        return len(self.terms) if self.link == "fexp" else (1 if self.link == "pow" else 0)

    @property
    def n_theta(self) -> int:
        return self.n_lead + sum(t.n_theta for t in self.terms)

    @property
    def n_linear(self) -> int:
        if self.link == "fexp":
            return 2
        if self.link == "pow":
            return len(self.terms)
        return int(self.intercept) + len(self.terms)

    @property
    def n_constants(self) -> int:
        return self.n_theta + self.n_linear

    @property
    def complexity(self) -> int:
        return 2 * self.n_constants + sum(t.complexity for t in self.terms) + (3 if self.link != "id" else 0)

    def valid(self) -> bool:
        if not self.terms:
            return False
        if any(t.needs_intercept for t in self.terms) and not self.intercept and self.link == "id":
            return False
        if self.link == "pow" and (self.intercept or any(t.needs_intercept for t in self.terms)):
            return False
        return len({t.key for t in self.terms}) == len(self.terms)


@dataclass
class Fitted:
    form: Form
    theta: list  # per group list of η arrays, or [η] when shared
    coefs: dict  # group -> linear coefficient array
    train_err: float
    val_err: float
    mode: str  # "shared" or "pergroup"
    extra: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.val_err


class _Stack:
    """Rows of every group stacked into padded (groups × rows) arrays.

    One form shares its exponents across groups and has linear coefficients per
    group; stacking lets every group's linear problem be solved in one batched
    call. Padding cells carry weight 0 (and harmless values 1).
    """

    def __init__(self, Zall: dict, y: np.ndarray, log_space: bool, rows: np.ndarray, groups: np.ndarray,
                 order: list):
        per = [rows[groups[rows] == g] for g in order]
        G, n = len(order), max(1, max(len(r) for r in per))
        self.mask = np.zeros((G, n))
        self.y = np.ones((G, n))
        self.Z = {k: np.ones((G, n)) for k in Zall}
        for gi, r in enumerate(per):
            self.mask[gi, : len(r)] = 1.0
            self.y[gi, : len(r)] = y[r]
            for k, v in Zall.items():
                self.Z[k][gi, : len(r)] = v[r]
        self.present = self.mask.any(axis=1)
        self.n = int(self.mask.sum())
        self.G = G
        self.log_space = log_space
        if log_space:
            self.logy = np.log(self.y)
            self.w = self.mask / self.y
        else:
            self.w = self.mask.copy()

    def values(self, a: np.ndarray) -> np.ndarray:
        """The real (unpadded) cells of a (groups × rows) array, flattened."""
        return a[self.mask > 0]


class _FormEval:
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
        lo, hi = [], []
        if form.link == "fexp":
            lo += [-20.0] * len(form.terms)
            hi += [20.0] * len(form.terms)
        if form.link == "pow":
            lo.append(0.01)
            hi.append(5.0)
        for t in form.terms:
            for b in t.bounds():
                lo.append(b[0])
                hi.append(b[1])
        self.lo, self.hi = np.array(lo), np.array(hi)

    def columns(self, st: _Stack, eta) -> list[np.ndarray]:
        return [t.column([st.Z[v.name] for v in t.vars], eta[a:b]) for t, (a, b) in zip(self.form.terms, self.splits)]

    def design(self, st: _Stack, eta):
        """(F: groups × rows × columns, target, row weights): the linear problems for fixed η."""
        cols = self.columns(st, eta)
        f = self.form
        scale = 1.0 if st.log_space else self.yscale
        if f.link == "fexp":
            inner = sum(c * col for c, col in zip(eta[: len(cols)], cols))
            return np.stack([np.ones_like(st.y), np.exp(np.clip(inner, -700, 700))], axis=-1), st.y, st.w / scale
        if f.link == "pow":  # y = (F c)^γ  <=>  y^(1/γ) = F c; weights make residuals relative in y
            g = eta[0]
            t = st.y ** (1.0 / g)
            return np.stack(cols, axis=-1), t, st.mask / (g * t)
        if f.intercept:
            cols = [np.ones_like(st.y)] + cols
        F = np.stack(cols, axis=-1)
        if f.link == "log":
            return F, st.logy, st.mask
        return F, st.y, st.w / scale

    def solve(self, st: _Stack, eta, design=None):
        """Per-group linear coefficients (groups × columns) and the linear predictor."""
        F, t, w = self.design(st, eta) if design is None else design
        if not np.all(np.isfinite(F[st.mask > 0])):
            return None, None
        A = F * w[..., None]
        norms = np.sqrt(np.einsum("gni,gni->gi", A, A))
        norms[norms == 0] = 1.0
        A = A / norms[:, None, :]
        b = t * w
        m = A.shape[-1]
        with np.errstate(all="ignore"):
            Gm = np.einsum("gni,gnj->gij", A, A) + 1e-12 * np.eye(m)
            rhs = np.einsum("gni,gn->gi", A, b)
            try:
                coef = np.linalg.solve(Gm, rhs[..., None])[..., 0]
            except np.linalg.LinAlgError:
                coef = np.full_like(rhs, np.nan)
            bad = ~np.all(np.isfinite(coef), axis=1) | (np.abs(coef).max(axis=1) > 1e6 * (np.abs(b).max() + 1e-300))
            for gi in np.flatnonzero(bad):  # (nearly) collinear columns: SVD least squares for that group
                try:
                    coef[gi] = np.linalg.lstsq(A[gi], b[gi], rcond=1e-12)[0]
                except np.linalg.LinAlgError:
                    return None, None
        coef = coef / norms
        return coef, np.einsum("gni,gi->gn", F, coef)

    def predict(self, st: _Stack, eta, coef) -> np.ndarray:
        F, _, _ = self.design(st, eta)
        lin = np.einsum("gni,gi->gn", F, coef)
        if self.form.link == "pow":
            return np.maximum(lin, 1e-300) ** eta[0]
        return np.exp(np.clip(lin, -700, 700)) if self.form.link == "log" else lin

    def residual(self, st: _Stack, eta) -> np.ndarray:
        design = self.design(st, eta)
        coef, lin = self.solve(st, eta, design)
        if coef is None:
            return np.full(st.n, 1e3)
        _, t, w = design
        r = st.values((lin - t) * w)
        return np.clip(np.where(np.isfinite(r), r, 1e3), -1e3, 1e3)


def _err(y: np.ndarray, pred: np.ndarray, log_space: bool) -> float:
    if len(y) == 0:
        return math.nan
    if not np.all(np.isfinite(pred)):
        return math.inf
    if log_space:
        if np.any(pred <= 0):
            return math.inf
        return float(np.sqrt(np.mean((np.log(pred) - np.log(y)) ** 2)))
    return float(np.sqrt(np.mean((pred - y) ** 2)))


class GrammarEngine:
    """Exhaustive small forms, then beam search over larger ones, within a time budget."""

    name = "grammar"

    def __init__(self, beam: int = 10, max_terms: int = 5, kinds=TERM_KINDS, links=LINKS, ratios: bool = True,
                 n_return: int = 25, max_forms: int | None = None):
        """``max_forms`` bounds the search by forms fitted as well as by time: a search that
        ends on its form count tries the same forms on any machine under any load, so the
        same seed gives the same laws (a search that ends on its deadline may not)."""
        if max_forms is not None and (isinstance(max_forms, bool) or not isinstance(max_forms, int) or max_forms < 1):
            raise DataError(f"max_forms must be a positive integer, got {max_forms!r}")
        self.max_forms = max_forms
        self.beam = beam
        self.max_terms = max_terms
        self.kinds = tuple(kinds)
        self.links = tuple(links)
        self.ratios = ratios
        self.n_return = n_return

    def available(self):
        return True, ""

    def version(self) -> str:
        from .. import __version__

        return __version__

    # ------------------------------------------------------------------ setup
    def _prepare(self, task: EngineTask):
        self.task = task
        self.vars = make_vars(task.X_train, task.features, ratios=self.ratios)
        self.library = term_library(self.vars, self.kinds)
        self.log_space = task.log_space
        ytr = np.asarray(task.y_train, float)
        yva = np.asarray(task.y_val, float)
        self.yscale = float(np.std(ytr)) or 1.0
        Ztr = {v.name: v.values(task.X_train) for v in self.vars}
        Zva = {v.name: v.values(task.X_val) for v in self.vars}
        gtr = np.asarray(task.groups_train).astype(str) if task.grouped else np.full(len(ytr), "_all")
        gva = np.asarray(task.groups_val).astype(str) if task.grouped else np.full(len(yva), "_all")
        self.groups = list(dict.fromkeys(gtr.tolist()))

        def stack(Z, y, g, rows):
            return _Stack(Z, y, self.log_space, rows, g, self.groups)

        # fold A: fit on train, evaluate on the validation band
        self.folds = [(stack(Ztr, ytr, gtr, np.arange(len(ytr))), stack(Zva, yva, gva, np.arange(len(yva))))]
        # fold B (backtest): fit below the next band down, evaluate on that band
        if task.backtest is not None and len(task.backtest[0]) and len(task.backtest[1]):
            fit_idx, eval_idx = (np.asarray(a, int) for a in task.backtest)
            self.folds.append((stack(Ztr, ytr, gtr, fit_idx), stack(Ztr, ytr, gtr, eval_idx)))
        self.train_stack = self.folds[0][0]
        counts = self.train_stack.mask.sum(axis=1)
        self.min_rows = int(counts[counts > 0].min())
        self.max_constants = max(2, min(14, self.train_stack.n // 3))
        self.evaluated: dict[str, Fitted | None] = {}
        self.n_tried = 0
        self.best = math.inf

    # ------------------------------------------------------------------ fitting
    def _fit_stack(self, fe: _FormEval, st: _Stack, starts: list[np.ndarray]):
        """Fit η (shared across groups) by variable projection; coefficients per group."""
        def resid(e):
            return fe.residual(st, e)

        cand = [np.clip(np.asarray(s, float), fe.lo, fe.hi) for s in starts]
        if len(cand) > 2 and len(cand[0]):
            # screen the starts with one residual evaluation each; refine the best two
            cand = sorted(cand, key=lambda s: float(np.sum(resid(s) ** 2)))[:2]
        best = None
        for s in cand:
            if len(s):
                try:
                    r = least_squares(resid, s, bounds=(fe.lo, fe.hi), method="trf", x_scale="jac",
                                      max_nfev=60 * (len(s) + 1), ftol=1e-10, xtol=1e-10)
                except (ValueError, np.linalg.LinAlgError):
                    continue
                eta, cost = r.x, r.cost
            else:
                eta, cost = s, 0.5 * float(np.sum(resid(s) ** 2))
            if np.isfinite(cost) and (best is None or cost < best[1]):
                best = (eta, cost)
        if best is None:
            return None
        coef, _ = fe.solve(st, best[0])
        return None if coef is None else (best[0], coef)

    def _fold_error(self, fe: _FormEval, eta, coef, st: _Stack, fit_st: _Stack) -> float:
        if not st.n:
            return math.nan
        if np.any(st.present & ~fit_st.present):
            return math.inf  # a group with held-out rows but no fitted coefficients
        pred = fe.predict(st, eta, coef)
        return _err(st.values(st.y), st.values(pred), self.log_space)

    def _fit(self, form: Form, starts: list[np.ndarray]) -> Fitted | None:
        fe = _FormEval(form, self.log_space, self.yscale)
        fit_a, eval_a = self.folds[0]
        res = self._fit_stack(fe, fit_a, starts)
        if res is None:
            return None
        eta, coef = res
        train_err = self._fold_error(fe, eta, coef, fit_a, fit_a)
        errs = [self._fold_error(fe, eta, coef, eval_a, fit_a)]
        backtest = None
        if math.isnan(errs[0]):  # no validation rows: penalise complexity on train error
            errs = [train_err * math.exp(form.n_constants / max(fit_a.n, 1))]
        elif math.isfinite(errs[0]):
            for fit_b, eval_b in self.folds[1:]:
                rb = self._fit_stack(fe, fit_b, [eta] + starts[:1])
                errs.append(math.inf if rb is None else self._fold_error(fe, rb[0], rb[1], eval_b, fit_b))
                if rb is not None and backtest is None:  # the backtest fit, kept as the pipeline's start for it
                    backtest = (rb[0], {g: rb[1][i] for i, g in enumerate(self.groups) if fit_b.present[i]})
        coefs = {g: coef[i] for i, g in enumerate(self.groups)}
        f = Fitted(form, [eta], coefs, train_err, float(np.average(errs, weights=FOLD_WEIGHTS[: len(errs)])),
                   "shared" if self.task.grouped else "single")
        if backtest is not None:
            f.extra["backtest_fit"] = backtest
        f.extra["fold_errors"] = errs
        return f

    def _starts(self, form: Form, parent: Fitted | None) -> list[np.ndarray]:
        """Start grid: parent's fitted η for inherited terms, each new term's grid."""
        inherited = {}
        if parent is not None:
            eta = parent.theta[0]
            pf = _FormEval(parent.form, self.log_space, self.yscale)
            for j, (t, (a, b)) in enumerate(zip(parent.form.terms, pf.splits)):
                inherited[t.key] = (eta[j] if parent.form.link == "fexp" else None, eta[a:b])
            if parent.form.link == "pow":
                inherited["__gamma__"] = eta[0]
        grids = []
        for t in form.terms:
            if t.key in inherited:
                grids.append([inherited[t.key][1]])
            else:
                grids.append([np.array(g, float) for g in t.inits()])
        combos = [[]]
        for g in grids:
            combos = [c + [x] for c in combos for x in g]
            if len(combos) > 12:
                combos = combos[:12]
        out = []
        for c in combos:
            theta = np.concatenate(c) if c else np.zeros(0)
            if form.link == "fexp":
                inner = [inherited.get(t.key, (None,))[0] for t in form.terms]
                for sign in (1.0, -1.0):
                    cc = np.array([v if v is not None else sign for v in inner], float)
                    out.append(np.concatenate([cc, theta]))
            elif form.link == "pow":
                lead = [inherited["__gamma__"]] if "__gamma__" in inherited else [0.1, 0.5, 1.0]
                out += [np.concatenate([[g], theta]) for g in lead]
            else:
                out.append(theta)
        return out

    def evaluate(self, form: Form, parent: Fitted | None = None) -> Fitted | None:
        key = form.key
        if key in self.evaluated:
            return self.evaluated[key]
        if not form.valid() or form.n_constants > self.max_constants or form.n_linear > max(1, self.min_rows - 2):
            self.evaluated[key] = None
            return None
        if form.link in {"log", "fexp", "pow"} and not self.log_space:
            self.evaluated[key] = None
            return None
        self.n_tried += 1
        fit = self._fit(form, self._starts(form, parent))
        self.evaluated[key] = fit
        if fit is not None and fit.val_err < self.best:
            self.best = fit.val_err
        if self.task.progress:
            self.task.progress(self.n_tried, None, best=self.best if math.isfinite(self.best) else None)
        return fit

    # ------------------------------------------------------------------ search
    def propose(self, task: EngineTask) -> list[Law]:
        self._prepare(task)
        rng = np.random.default_rng(task.seed)
        frontier: list[Fitted] = []
        # Level 1: every single-term form, each link, with and without intercept.
        for link in self.links:
            for t in self.library:
                for icpt in ((True, False) if link == "id" else (True,)):
                    if self._left() <= 0:
                        break
                    f = self.evaluate(Form(link, icpt, (t,)))
                    if f is not None:
                        frontier.append(f)
        beam = self._top(frontier, self.beam, per_terms=BEAM_PER_TERMS)
        size = 1
        reserve = REDUCE_SHARE * self._left()  # kept for the reductions of the best forms
        while beam and size < self.max_terms and self._left() > reserve:
            size += 1
            # each remaining level gets an equal share of the time left, so a large library
            # (four features: ~140 terms) cannot spend the whole budget on two-term forms
            share = self._left() - reserve
            level_end = reserve + share - share / (self.max_terms - size + 1)
            children = []
            for parent, t in self._children(beam, rng):
                if self._left() <= level_end:
                    break
                f = self.evaluate(parent.form.with_terms(parent.form.terms + (t,)), parent)
                if f is not None:
                    children.append(f)
            if not children:
                break
            beam = self._top(beam + children, self.beam, per_terms=BEAM_PER_TERMS)
        self._reduce(task)
        return self._laws(task)

    def _left(self) -> float:
        """Share of the budget still unspent, 1 -> 0: time, and forms when ``max_forms`` is set."""
        task = self.task
        left = task.time_left / max(float(task.time_budget), 1e-9)
        if self.max_forms is not None:
            left = min(left, 1.0 - self.n_tried / self.max_forms)
        return left

    def _reduce(self, task: EngineTask, k: int = 10) -> None:
        """Walk down from each of the best forms to its simpler neighbours, one step at a
        time, always to the neighbour that extrapolates best: a term dropped, or one term
        replaced by a term of fewer variables (an interaction by a power of one of its
        variables, a bowl whose centre moves with fewer features). A beam only grows forms,
        so a law found with a spare term or a spare exponent near zero would otherwise never
        be offered without it, and the choice among laws within noise of each other goes to
        the simplest (:mod:`discover.select`) only if the simple ones are there."""
        by_key = {t.key: t for t in self.library}
        for start in self._top([f for f in self.evaluated.values() if f is not None], k):
            f = start
            while len(f.form.terms) > 1:
                steps = []
                for form in _reductions(f.form, by_key):
                    if self._left() <= 0:
                        return
                    g = self.evaluate(form, f)
                    if g is not None and math.isfinite(g.val_err):
                        steps.append(g)
                if not steps:
                    break
                f = min(steps, key=lambda g: (g.val_err, g.form.complexity))

    def _children(self, beam: list[Fitted], rng) -> list[tuple[Fitted, Term]]:
        """(parent, new term) pairs in the order to try them: for every parent its terms
        sorted by how much they would explain of its training residual, taken round-robin
        (each parent's best term, then each one's second best ...), so whatever the
        budget allows to be tried is the most promising part of the level."""
        per_parent = []
        for parent in beam:
            have = {x.key for x in parent.form.terms}
            terms = [t for t in self.library if t.key not in have]
            order = list(rng.permutation(len(terms)))  # ties (and unscreenable parents) in seeded order
            terms = [terms[i] for i in order]
            gains = self._screen(parent, terms)
            if gains is not None:
                terms = [t for _, t in sorted(zip(gains, terms), key=lambda p: -p[0])]
            per_parent.append(terms)
        out = []
        for r in range(max((len(t) for t in per_parent), default=0)):
            out += [(p, terms[r]) for p, terms in zip(beam, per_parent) if r < len(terms)]
        return out

    def _screen(self, parent: Fitted, terms: list[Term]) -> list[float] | None:
        """For each term, the drop in the parent's weighted training sum of squares if the
        term were added as one more linear column at its best starting constants (an
        orthogonal-matching-pursuit step). None when the parent cannot be linearised."""
        st = self.train_stack
        fe = _FormEval(parent.form, self.log_space, self.yscale)
        eta = parent.theta[0]
        try:
            with np.errstate(all="ignore"):
                F, t, w = fe.design(st, eta)
                coef = np.stack([parent.coefs[g] for g in self.groups])
                lin = np.einsum("gni,gi->gn", F, coef)
                r = (t - lin) * w
                A = F * w[..., None]
                if not (np.all(np.isfinite(A)) and np.all(np.isfinite(r))):
                    return None
                Q = np.linalg.qr(A)[0]  # per group: orthonormal basis of the parent's columns
                # a new term enters linearly (id, log, pow links) or inside the exponent (fexp)
                tilt = F[..., 1] * coef[:, 1:2] if parent.form.link == "fexp" else 1.0
                tiny = 1e-12 * (1 + np.einsum("gn,gn->g", r, r))  # a column this small adds nothing
                gains = []
                for term in terms:
                    Z = [st.Z[v.name] for v in term.vars]
                    best = 0.0
                    for th in term.inits():
                        phi = term.column(Z, np.asarray(th, float)) * tilt * w
                        phi = phi - np.einsum("gni,gi->gn", Q, np.einsum("gni,gn->gi", Q, phi))
                        num = np.einsum("gn,gn->g", phi, r) ** 2
                        den = np.einsum("gn,gn->g", phi, phi)
                        gain = float(np.sum(np.where(den > tiny, num / den, 0.0)))
                        if math.isfinite(gain):
                            best = max(best, gain)
                    gains.append(best)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None
        return gains

    def _rank_error(self, f: Fitted) -> float:
        """Validation error with a complexity penalty. With groups, every linear coefficient is
        one constant per group, so it costs what an information criterion charges for
        G x (linear coefficients) constants on n training rows: a factor exp(G x k_lin / n)."""
        e = f.val_err * (1 + 0.002 * f.form.complexity)
        if self.task.grouped:
            G = int(self.train_stack.present.sum())
            e *= math.exp(min(G * f.form.n_linear / max(self.train_stack.n, 1), 50.0))
        return e

    def _top(self, fits: list[Fitted], k: int, per_terms: int | None = None) -> list[Fitted]:
        """The ``k`` best fits by penalised validation error; at most ``per_terms`` of them with
        the same terms (under different links), so the beam is not one term set four times."""
        ok = [f for f in fits if f is not None and math.isfinite(f.val_err)]
        ok.sort(key=lambda f: (self._rank_error(f), f.form.complexity, f.form.key))
        out, seen, n_terms = [], set(), {}
        for f in ok:
            if f.form.key in seen:
                continue
            terms = f.form.terms_key
            if per_terms is not None and n_terms.get(terms, 0) >= per_terms:
                continue
            n_terms[terms] = n_terms.get(terms, 0) + 1
            seen.add(f.form.key)
            out.append(f)
            if len(out) >= k:
                break
        return out

    def _laws(self, task: EngineTask) -> list[Law]:
        fits = [f for f in self.evaluated.values() if f is not None and math.isfinite(f.val_err)]
        # per-group refits cost one fit per group: hand fewer forms to the pipeline when grouped
        chosen = self._top(fits, self.n_return if not task.grouped else 3)
        # and the Pareto front of val error vs complexity, so simple laws are always offered
        by_cx: dict[int, Fitted] = {}
        for f in fits:
            c = f.form.complexity
            if c not in by_cx or f.val_err < by_cx[c].val_err:
                by_cx[c] = f
        best_so_far, front = math.inf, []
        for c in sorted(by_cx):
            if by_cx[c].val_err < best_so_far:
                best_so_far = by_cx[c].val_err
                if by_cx[c] not in chosen:
                    front.append(by_cx[c])
        if task.grouped:  # each grouped law costs one fit per group: the front's best few only
            front = sorted(front, key=self._rank_error)[:3]
        chosen += front
        if not task.grouped:
            # and the best form of each band of complexity that is not far off the best: the
            # pipeline picks the simplest law within noise of the best on its own refits, and
            # a simpler law slightly behind here is often level there
            best = min((f.val_err for f in fits), default=math.inf)
            bands: dict[int, Fitted] = {}
            for f in fits:
                b = f.form.complexity // COMPLEXITY_BAND
                if f.val_err <= NEAR_BEST * best and (b not in bands or f.val_err < bands[b].val_err):
                    bands[b] = f
            chosen += [f for _, f in sorted(bands.items()) if f not in chosen]
        laws = []
        for f in chosen:
            law = to_law(f, task)
            if law is None:
                continue
            if task.grouped and law.shared and "start_groups" not in law.extra:
                continue  # no per-group start: refitting it would cost minutes of multi-start per group
            laws.append(law)
        if task.grouped:
            laws += self._per_group_variants(fits, task)
        return laws

    def _per_group_variants(self, fits: list[Fitted], task: EngineTask, k: int = 2) -> list[Law]:
        """The best small forms again with every constant per group (as published per-group laws
        are fitted), started from the engine's per-group solution: with a few constants and curves
        long enough, per-group exponents can extrapolate better than shared ones."""
        small = [f for f in fits if f.form.n_constants <= min(5, max(2, self.min_rows - 1))]
        out = []
        for f in self._top(small, k):
            law = to_law(f, task)
            if law is None or not law.shared or "start_groups" not in law.extra:
                continue
            out.append(dataclasses.replace(law, name=f"{law.formula} [per group]", shared=(),
                                           description=law.description + "; every constant per group"))
        return out


def _simpler_terms(t: Term, by_key: dict) -> list[Term]:
    """Library terms of fewer variables that ``t`` reduces to when one of its exponents
    (or centre slopes) is zero, or when its break, shift or modifier does not matter."""
    names = [v.name for v in t.vars]
    keys: list[str] = []
    if t.kind in {"pow2", "prod"}:
        keys = [f"pow({n})" for n in names]
    elif t.kind in {"powmod", "effexp", "efflog", "repeat", "sat", "shift", "bpl"}:
        keys = [f"pow({names[0]})"]
    elif t.kind == "expmix":
        keys = [f"exp({n})" for n in names]
    elif t.kind == "bowl" and len(names) > 1:
        keys = [f"bowl({','.join(n for j, n in enumerate(names) if j != i)})" for i in range(1, len(names))]
    return [by_key[k] for k in keys if k in by_key]


def _reductions(form: Form, by_key: dict) -> list[Form]:
    """Forms one step simpler than ``form``: a term dropped, or one term made simpler; and a
    modulated power split into two powers (as many constants, one more term)."""
    out = []
    terms = list(form.terms)
    for i, t in enumerate(terms):
        rest = terms[:i] + terms[i + 1:]
        if rest:
            out.append(Form(form.link, form.intercept, tuple(rest)))
        for u in _simpler_terms(t, by_key):
            if u.key in {x.key for x in rest}:
                continue
            out.append(form.with_terms(rest + [u]))
        split = [by_key.get(f"pow({v.name})") for v in t.vars] if t.kind == "powmod" else []
        if split and all(split) and not {u.key for u in split} & {x.key for x in rest}:
            # x^-a (1 + b y^-g) and A x^-a + B y^-b have as many constants: the additive
            # (Chinchilla) split of a modulated power is the neighbour a beam grown by one term
            # at a time rarely reaches once the modulated term has taken both features
            out.append(form.with_terms(rest + split))
    return out


# ---------------------------------------------------------------------- to Law
def to_law(fit: Fitted, task: EngineTask) -> Law | None:
    """Write a fitted form as a Law in the original variables, with starting constants."""
    form = fit.form
    eta = fit.theta[0] if len(fit.theta) == 1 else np.median(np.array(fit.theta), axis=0)
    fe = _FormEval(form, task.log_space, 1.0)
    params: dict[str, Param] = {}
    starts: dict[str, float] = {}
    pieces = []
    for k, (t, (a, b)) in enumerate(zip(form.terms, fe.splits), start=1):
        names = [f"{s}{k}" for s in THETA_PREFIXES[: t.n_theta]]
        expr, st, bounds = t.sympy(eta[a:b], names)
        for n in names:
            lo, hi = bounds[n]
            v = float(np.clip(st[n], lo if math.isfinite(lo) else -1e300, hi if math.isfinite(hi) else 1e300))
            log_scale = lo == 0.0 and not math.isfinite(hi)
            if log_scale:
                v = max(v, 1e-300)
                init = tuple(sorted({v, v * 10, v / 10}))
            else:
                init = tuple(sorted({round(v, 6), round(v * 0.7, 6), round(v * 1.3, 6)}))
            params[n] = Param(n, lo, hi, init=init, log_scale=log_scale)
            starts[n] = v
        pieces.append(expr)
    E, A = sympy.Symbol("E", real=True), sympy.Symbol("A", real=True)
    cs = [sympy.Symbol(f"c{k}", real=True) for k in range(1, len(pieces) + 1)]
    if form.link == "id":
        expr = sum(c * p for c, p in zip(cs, pieces))
        if form.intercept:
            expr = E + expr
    elif form.link == "pow":
        gsym = sympy.Symbol("gamma", real=True)
        expr = sympy.Add(*[c * p for c, p in zip(cs, pieces)]) ** gsym
        starts["gamma"] = float(eta[0])
        params["gamma"] = Param("gamma", 0.0, 10.0, init=(float(eta[0]),))
        coef = next(iter(fit.coefs.values()))
        for k, c in enumerate(cs):
            starts[str(c)] = float(coef[k])
            params[str(c)] = Param(str(c), init=(float(coef[k]),))
    else:
        inner_c = eta[: len(pieces)] if form.link == "fexp" else None
        factors, rest = [], []
        for k, (t, p, c) in enumerate(zip(form.terms, pieces, cs)):
            if t.kind == "log":  # exp(c log x) = x**c
                factors.append(t.vars[0].sympy() ** c)
            else:
                rest.append(c * p)
        expr = A * sympy.Mul(*factors) * sympy.exp(sympy.Add(*rest)) if rest else A * sympy.Mul(*factors)
        if form.link == "fexp":
            expr = E + expr
            for k, c in enumerate(cs):
                starts[str(c)] = float(inner_c[k])
                params[str(c)] = Param(str(c), -20.0, 20.0, init=(float(inner_c[k]),))
        else:
            coef = next(iter(fit.coefs.values()))
            for k, c in enumerate(cs):
                v = float(coef[k + 1]) if form.intercept else float(coef[k])
                starts[str(c)] = v
                params[str(c)] = Param(str(c), -20.0, 20.0, init=(v,))
    expr = expr.xreplace({s: sympy.Symbol(str(s), real=True) for s in expr.free_symbols})
    free = {str(s) for s in expr.free_symbols}
    feats = [f for f in task.features if f in free]
    for n in sorted(free - set(feats) - set(params)):
        params[n] = Param(n)
    try:
        law = Law(name="", expr=expr, variables=tuple(feats), params={n: params[n] for n in sorted(params) if n in free},
                  provenance=f"engine: grammar, seed {task.seed}",
                  description=f"grammar form {form.key} ({fit.mode} exponents)")
    except Exception:  # noqa: BLE001 - a malformed candidate is dropped, never fatal
        return None
    extra = {"start": starts, "val_err": fit.val_err, "train_err": fit.train_err, "form": form.key,
             "mode": fit.mode}
    shared: tuple = ()
    if task.grouped:
        # The engine fits grouped forms with the term constants (exponents, offsets, centres)
        # shared across groups and the linear coefficients per group, and ranks them so; the law
        # says the same, so the pipeline refits and scores the model the engine chose (per-group
        # refits of every constant overfit curves of a dozen points), starting from the engine's
        # per-group solution on the same training rows.
        names = set(law.params)
        coef_names = {str(c) for c in cs}  # the law's names for the engine's linear coefficients
        local = {"fexp": {"E", "A"}, "pow": coef_names}.get(form.link, {"E", "A"} | coef_names)
        shared = tuple(sorted(names - local))
        per_group = _group_starts(form, fit.coefs, fe, eta, pieces, starts, task)
        if per_group is not None:
            extra["start_groups"] = _only(per_group, names)
        if "backtest_fit" in fit.extra:  # the same from the engine's own fit on the backtest rows
            eta_b, coefs_b = fit.extra["backtest_fit"]
            bt = _group_starts(form, coefs_b, fe, eta_b, pieces, _eta_starts(form, fe, eta_b, starts), task)
            if bt is not None:
                extra["start_groups_backtest"] = _only(bt, names)
    return dataclasses.replace(law, name=law.formula, shared=shared, extra=extra)


def _only(per_group: dict, names) -> dict:
    """Per-group constants restricted to the law's own constants."""
    return {g: {n: v for n, v in d.items() if n in names} for g, d in per_group.items()}


def _eta_starts(form: Form, fe: _FormEval, eta, like: dict) -> dict:
    """The law's shared constants for another η (as :func:`to_law` names them)."""
    out = dict(like)
    for k, (t, (a, b)) in enumerate(zip(form.terms, fe.splits), start=1):
        names = [f"{s}{k}" for s in THETA_PREFIXES[: t.n_theta]]
        _, st, _ = t.sympy(eta[a:b], names)
        out.update({n: float(st[n]) for n in names})
    if form.link == "fexp":
        out.update({f"c{k}": float(eta[k - 1]) for k in range(1, len(form.terms) + 1)})
    if form.link == "pow":
        out["gamma"] = float(eta[0])
    return out


def _group_starts(form: Form, coefs: dict, fe: _FormEval, eta, pieces, starts, task: EngineTask):
    """Every group's constants in the law's terms, from the engine's per-group coefficients.

    The engine's columns are the terms on normalised inputs, an affine image
    ``alpha * p + beta`` of the law's term ``p`` in the original variables (a
    power picks up a factor, a log an offset). alpha and beta are measured on
    the training rows; the coefficients are mapped through them. None when a
    column is not affine in its term, or for the power link (no free offset).
    """
    if form.link == "pow":
        return None
    sub = {sympy.Symbol(n, real=True): v for n, v in starts.items()}
    alpha, beta = [], []
    X = task.X_train
    for t, (a, b), p in zip(form.terms, fe.splits, pieces):
        col = np.asarray(t.column([v.values(X) for v in t.vars], eta[a:b]), dtype=float)
        expr = p.xreplace(sub)
        syms = sorted(expr.free_symbols, key=str)
        try:
            f = sympy.lambdify(syms, expr, modules="numpy")
            with np.errstate(all="ignore"):
                val = np.broadcast_to(np.asarray(f(*[np.asarray(X[str(s)], float) for s in syms]), float), col.shape)
        except Exception:  # noqa: BLE001 - no start, the pipeline searches instead
            return None
        ok = np.isfinite(col) & np.isfinite(val)
        if ok.sum() < 2:
            return None
        M = np.column_stack([val[ok], np.ones(ok.sum())])
        (al, be), *_ = np.linalg.lstsq(M, col[ok], rcond=None)
        if not np.allclose(M @ [al, be], col[ok], rtol=1e-6, atol=1e-9 * (np.abs(col[ok]).max() + 1e-300)):
            return None
        alpha.append(float(al))
        beta.append(float(be))
    alpha, beta = np.array(alpha), np.array(beta)
    out = {}
    for g, coef in coefs.items():
        coef = np.asarray(coef, float)
        d = {}
        if form.link == "fexp":  # E + A exp(sum c_k col_k); the c_k are shared (eta)
            inner = np.asarray(eta[: len(form.terms)], float)
            d["E"] = float(coef[0])
            d["A"] = float(coef[1] * math.exp(min(float(inner @ beta), 700.0)))
            d.update({f"c{k + 1}": float(inner[k] * alpha[k]) for k in range(len(form.terms))})
        else:
            icpt = 1 if form.intercept else 0
            c = coef[icpt:]
            b0 = (float(coef[0]) if icpt else 0.0) + float(c @ beta)
            d.update({f"c{k + 1}": float(c[k] * alpha[k]) for k in range(len(form.terms))})
            if form.link == "id":
                d["E"] = b0
            else:  # log link: A = exp(intercept)
                d["A"] = math.exp(min(b0, 700.0))
        out[str(g)] = {**starts, **d}
    return out
