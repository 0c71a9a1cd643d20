"""The built-in grammar engine: law-shaped expressions, searched within a time budget.

Why a grammar and not free-form symbolic regression: scaling laws are sums of
saturating power terms, interactions, and (for hyperparameters) bowls in log
space. Searching *that* space exhaustively for small forms and by beam search
for larger ones finds the published laws and their better variants in minutes
on a laptop, and every candidate is fitted properly (variable projection: the
linear coefficients are solved exactly, only exponents are searched).

The forms searched over (a link applied to a sum of terms) and their numerics
live in :mod:`discover.engines.forms`, the terms in :mod:`discover.engines.terms`,
and the writing of a fitted form as a Law in :mod:`discover.engines.form_law`;
this module is the search: single terms, a screened beam, reductions, and the
choice of forms handed to the pipeline.

With groups, one form is fitted with exponents shared across groups and
linear coefficients per group (fast, robust on few rows per group); the best
forms are also tried with every constant per group.

One module, though long: the search's steps (single terms, the screened beam,
the reductions, the choice of forms handed over) share the engine's state and
its budget; the one piece that leaves the process, :class:`FormFitter` (what
fitting a form needs, sent to worker processes), is that state's fitting half.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from scipy.optimize import least_squares

from ..errors import DataError
from ..candidate import Candidate
from ..version import __version__
from ..workers import Workers, WorkersFailed, each
from .base import EngineTask
from .form_law import to_law
from .forms import Fitted, Form, FormEval, Stack, form_error, linear
from .links import LINK_NAMES, LINKS
from .terms import TERM_KINDS, Term, make_vars, term_library

# validation band, backtest band: the engine ranks forms on both (two folds are steadier for
# pruning a beam); the pipeline then chooses among the handed-over laws on validation alone
FOLD_WEIGHTS = (2.0, 1.0)
BEAM_PER_TERMS = 2  # forms with the same terms (different links) the beam keeps
REDUCE_SHARE = 0.15  # of the budget left after single terms (time or forms): simpler neighbours of the best forms
COMPLEXITY_BAND, NEAR_BEST = 5, 1.5  # handed over too: each band's best form within 1.5x the best error
#: Forms each level of the beam extends in the first pass. Each level extends its parents' most
#: promising terms first, round-robin, within its share of the time, so under a short budget the
#: width changes little. Set once, three times the width it replaced, and not tuned.
BEAM = 30
#: A search that has run every level with time to spare searches again with a beam this many times
#: wider (forms already fitted are not fitted again), until the budget is spent or a pass finds no new form.
#: A fixed width ran out of forms early on tables of few features (curve tables: a third of a
#: 120-s budget) and handed over the same laws whatever the budget; the budget is what the user
#: chose to spend.
WIDEN = 3


class FormFitter:
    """What fitting one form needs, and nothing else: the folds' stacks, the residual space, the
    target's scale and the groups. Small and picklable, so that worker processes (or a Dask
    cluster's workers) can fit forms with a copy of it while the search stays in one process."""

    def __init__(self, folds, log_space: bool, yscale: float, groups: list[str], grouped: bool):
        self.folds, self.log_space, self.yscale, self.groups, self.grouped = folds, log_space, yscale, groups, grouped

    def _fit_stack(self, fe: FormEval, st: Stack, starts: list[np.ndarray]):
        """Fit η (shared across groups) by variable projection; coefficients per group."""
        def resid(e):
            return fe.residual(st, e)

        def jac(e):
            return fe.jacobian(st, e)

        cand = [np.clip(np.asarray(s, float), fe.lo, fe.hi) for s in starts]
        if len(cand) > 2 and len(cand[0]):
            # screen the starts with one residual evaluation each; refine the best two
            cand = sorted(cand, key=lambda s: float(np.sum(resid(s) ** 2)))[:2]
        best = None
        for s in cand:
            if len(s):
                try:
                    r = least_squares(resid, s, jac=jac, bounds=(fe.lo, fe.hi), method="trf", x_scale="jac",
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

    def _fold_error(self, fe: FormEval, eta, coef, st: Stack, fit_st: Stack) -> float:
        if not st.n:
            return math.nan
        if np.any(st.present & ~fit_st.present):
            return math.inf  # a group with held-out rows but no fitted coefficients
        pred = fe.predict(st, eta, coef)
        return form_error(st.y, pred, self.log_space)

    def fit(self, form: Form, starts: list[np.ndarray]) -> Fitted | None:
        fe = FormEval(form, self.log_space, self.yscale)
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
                   "shared" if self.grouped else "single")
        if backtest is not None:
            f.backtest = backtest
        f.fold_errors = errs
        return f


def _fit_form(fitter: FormFitter, item):
    """One (form, starts) pair fitted by a worker's copy of the search's fitter."""
    form, starts = item
    return fitter.fit(form, starts)


class GrammarEngine:
    """Exhaustive small forms, then beam search over larger ones, within a time budget."""

    name = "grammar"

    def __init__(self, beam: int = BEAM, max_terms: int = 5, kinds=TERM_KINDS, links=LINK_NAMES, ratios: bool = True,
                 n_return: int = 15, max_forms: int | None = None, workers: int = 1, executor=None):
        """``max_forms`` bounds the search by forms fitted as well as by time: a search that
        ends on its form count tries the same forms on any machine under any load, so the
        same seed gives the same laws (a search that ends on its deadline may not), with any
        number of ``workers`` (processes that fit forms in parallel: the search tries forms in
        the same order and keeps them in that order). ``executor`` (a
        ``distributed.Client``) has a Dask cluster's workers fit the forms instead of local
        processes."""
        if max_forms is not None and (isinstance(max_forms, bool) or not isinstance(max_forms, int) or max_forms < 1):
            raise DataError(f"max_forms must be a positive integer, got {max_forms!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise DataError(f"workers must be a positive integer, got {workers!r}")
        self.max_forms = max_forms
        self.workers = workers
        self.executor = executor
        self.beam = beam
        self.max_terms = max_terms
        self.kinds = tuple(kinds)
        self.links = tuple(links)
        self.ratios = ratios
        self.n_return = n_return

    def available(self):
        return True, ""

    def version(self) -> str:
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
            return Stack(Z, y, self.log_space, rows, g, self.groups)

        # fold A: fit on train, evaluate on the validation band
        self.folds = [(stack(Ztr, ytr, gtr, np.arange(len(ytr))), stack(Zva, yva, gva, np.arange(len(yva))))]
        # fold B (backtest): fit below the next band down, evaluate on that band
        if task.backtest is not None and len(task.backtest[0]) and len(task.backtest[1]):
            fit_idx, eval_idx = (np.asarray(a, int) for a in task.backtest)
            self.folds.append((stack(Ztr, ytr, gtr, fit_idx), stack(Ztr, ytr, gtr, eval_idx)))
        self.fitter = FormFitter(self.folds, self.log_space, self.yscale, self.groups, bool(task.grouped))
        self.train_stack = self.folds[0][0]
        counts = self.train_stack.counts
        self.min_rows = int(counts[counts > 0].min())
        self.max_constants = max(2, min(14, self.train_stack.n // 3))
        if task.max_constants is not None:
            self.max_constants = min(self.max_constants, task.max_constants)
        self.evaluated: dict[str, Fitted | None] = {}
        self.n_tried = 0
        self.best = math.inf
        self.pool, self.pool_note = None, ""  # worker processes: only while propose() runs

    def _starts(self, form: Form, parent: Fitted | None) -> list[np.ndarray]:
        """Start grid: parent's fitted η for inherited terms, each new term's grid."""
        inherited, gamma = {}, None
        if parent is not None:
            eta = parent.theta[0]
            link = parent.form.spec
            pf = FormEval(parent.form, self.log_space, self.yscale)
            for j, (t, (a, b)) in enumerate(zip(parent.form.terms, pf.splits)):
                inherited[t.key] = (link.inner_of(eta, j), eta[a:b])
            gamma = link.gamma_of(eta)
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
        inner = [inherited.get(t.key, (None,))[0] for t in form.terms]
        for c in combos:
            theta = np.concatenate(c) if c else np.zeros(0)
            out += form.spec.starts(theta, inner, gamma)
        return out

    def evaluate(self, form: Form, parent: Fitted | None = None) -> Fitted | None:
        return self.evaluate_many([(form, parent)])[0]

    def _admissible(self, form: Form) -> bool:
        return (form.valid() and form.n_constants <= self.max_constants
                and form.n_linear <= max(1, self.min_rows - 2)
                and not (form.spec.needs_log_space and not self.log_space))

    def evaluate_many(self, pairs: list[tuple[Form, Fitted | None]], until: float = 0.0) -> list[Fitted | None]:
        """Fit (form, parent) pairs, on the workers when there are some; results in the order given.

        A form fitted before is not fitted again. Fits are taken in order while the share of the
        budget left (:meth:`_left`: time, and forms with ``max_forms``) is above ``until``, as a
        one-at-a-time loop would; the forms to fit are chosen from the form count before any is
        sent, so with ``max_forms`` the forms tried do not depend on how many workers fitted them.
        Forms not taken come back None (and may be tried later)."""
        todo, seen = [], set()
        for form, parent in pairs:
            key = form.key
            if key in self.evaluated or key in seen:
                continue
            if not self._admissible(form):
                self.evaluated[key] = None
                continue
            if self.max_forms is not None and 1.0 - (self.n_tried + len(todo)) / self.max_forms <= until:
                break
            seen.add(key)
            todo.append((form, self._starts(form, parent)))
        # all sent to the workers at once, or fitted here one at a time as taken
        fits = each(_fit_form, self.fitter, todo, self.pool, on_failure=self._workers_failed)
        try:
            for form, _ in todo:
                if self._left() <= until:
                    break
                fit = next(fits)
                self.n_tried += 1
                self.evaluated[form.key] = fit
                if fit is not None and fit.val_err < self.best:
                    self.best = fit.val_err
                if self.task.progress:
                    self.task.progress(self.n_tried, None, best=self.best if math.isfinite(self.best) else None)
        finally:
            fits.close()  # the forms not taken are not fitted (or their fits are dropped)
        return [self.evaluated.get(form.key) for form, _ in pairs]

    def _workers_failed(self, err: WorkersFailed) -> None:
        """A worker died: the search goes on in this process, and says so."""
        self.pool_note = f"worker processes failed ({err}); the search went on in one process"
        self.pool.close()
        self.pool = None

    # ------------------------------------------------------------------ search
    def propose(self, task: EngineTask) -> list[Candidate]:
        self._prepare(task)
        if self.executor is not None or self.workers > 1:
            self.pool = Workers(self.fitter, workers=self.workers, client=self.executor)
        try:
            return self._search(task)
        finally:
            if self.pool is not None:
                self.pool.close()
            if self.pool_note and task.progress:
                task.progress(self.n_tried, None, note=self.pool_note)

    def _search(self, task: EngineTask) -> list[Candidate]:
        rng = np.random.default_rng(task.seed)
        frontier: list[Fitted] = []
        # Level 1: every single-term form, each link, with and without intercept.
        singles = [Form(link, icpt, (t,)) for link in self.links for t in self.library if not t.twin
                   for icpt in LINKS[link].intercepts]  # alone, a twin is its original
        frontier = [f for f in self.evaluate_many([(f, None) for f in singles]) if f is not None]
        reserve = REDUCE_SHARE * self._left()  # kept for the reductions of the best forms
        width = self.beam
        while True:
            tried = self.n_tried
            self._levels(frontier, width, reserve, rng)
            if self._left() <= reserve or self.n_tried == tried:
                break
            width *= WIDEN  # every level ran with time to spare: search it again, wider
        self._reduce(task)
        return self._laws(task)

    def _levels(self, frontier: list[Fitted], width: int, reserve: float, rng) -> None:
        """One pass of the beam from the single terms up to ``max_terms`` terms, ``width`` forms
        wide, while more than ``reserve`` of the budget is left."""
        beam = self._top(frontier, width, per_terms=BEAM_PER_TERMS)
        size = 1
        while beam and size < self.max_terms and self._left() > reserve:
            size += 1
            # each remaining level gets an equal share of the time left, so a large library
            # (four features: ~140 terms) cannot spend the whole budget on two-term forms
            share = self._left() - reserve
            level_end = reserve + share - share / (self.max_terms - size + 1)
            pairs = [(parent.form.with_terms(parent.form.terms + (t,)), parent) for parent, t in self._children(beam, rng)]
            children = [f for f in self.evaluate_many(pairs, until=level_end) if f is not None]
            if not children:
                break
            beam = self._top(beam + children, width, per_terms=BEAM_PER_TERMS)

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
                if self._left() <= 0:
                    return
                steps = [g for g in self.evaluate_many([(form, f) for form in _reductions(f.form, by_key)])
                         if g is not None and math.isfinite(g.val_err)]
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
            terms = [t for t in self.library if t.key not in have and (not t.twin or t.original in have)]
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
        fe = FormEval(parent.form, self.log_space, self.yscale)
        eta = parent.theta[0]
        try:
            with np.errstate(all="ignore"):
                F, t, w = fe.design(st, eta)
                coef = np.stack([parent.coefs[g] for g in self.groups])
                r = (t - linear(st, F, coef)) * w
                A = F * w[:, None]
                if not (np.all(np.isfinite(A)) and np.all(np.isfinite(r))):
                    return None
                # a new term enters linearly (id, log, pow links) or inside the exponent (fexp)
                tilt = parent.form.spec.tilt(F, coef, st.gidx)
                Q = np.linalg.qr(st.padded(A))[0]  # per group: orthonormal basis of the parent's columns
                r = st.padded(r)
                tiny = 1e-12 * (1 + np.einsum("gn,gn->g", r, r))  # a column this small adds nothing
                gains = []
                for term in terms:
                    Z = [st.Z[v.name] for v in term.vars]
                    best = 0.0
                    for th in term.inits():
                        phi = st.padded(term.column(Z, np.asarray(th, float)) * tilt * w)
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

    def _top(self, fits: list[Fitted], k: int, per_terms: int | None = None,
             no_extensions: bool = False) -> list[Fitted]:
        """The ``k`` best fits by penalised validation error; at most ``per_terms`` of them with
        the same terms (under different links), so the beam is not one term set four times.
        ``no_extensions`` leaves out a form that is a better-ranked one plus terms (or an
        intercept): the extra constants bought nothing on validation, and handing over twenty
        such variants of the best form made the pipeline's refits cost three times the search
        (a 2,000-row table of 14-constant laws)."""
        ok = [f for f in fits if f is not None and math.isfinite(f.val_err)]
        ok.sort(key=lambda f: (self._rank_error(f), f.form.complexity, f.form.key))
        out, seen, n_terms = [], set(), {}
        for f in ok:
            if f.form.key in seen:
                continue
            terms = f.form.terms_key
            if per_terms is not None and n_terms.get(terms, 0) >= per_terms:
                continue
            if no_extensions and any(_extends(f.form, g.form) for g in out):
                continue
            n_terms[terms] = n_terms.get(terms, 0) + 1
            seen.add(f.form.key)
            out.append(f)
            if len(out) >= k:
                break
        return out

    def _laws(self, task: EngineTask) -> list[Candidate]:
        fits = [f for f in self.evaluated.values() if f is not None and math.isfinite(f.val_err)]
        # per-group refits cost one fit per group: hand fewer forms to the pipeline when grouped
        chosen = self._top(fits, self.n_return if not task.grouped else 3, no_extensions=True)
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
            front += [f for _, f in sorted(bands.items()) if f not in chosen and f not in front]
        # in the order they should be judged, should time run short: the best by error and the
        # simplest good ones taking turns (the rule prefers the simplest law as good as the best,
        # so a deadline must not cut the simple ones first)
        simple = sorted(front, key=lambda f: f.form.complexity)
        order = [f for pair in itertools.zip_longest(chosen, simple) for f in pair if f is not None]
        out = []
        for f in order:
            cand = to_law(f, task)
            if cand is None:
                continue
            if task.grouped and cand.law.shared and cand.group_starts is None:
                continue  # no per-group start: refitting it would cost minutes of multi-start per group
            out.append(cand)
        if task.grouped:
            out += self._per_group_variants(fits, task)
        return out

    def _per_group_variants(self, fits: list[Fitted], task: EngineTask, k: int = 2) -> list[Candidate]:
        """The best small forms again with every constant per group (as published per-group laws
        are fitted), started from the engine's per-group solution: with a few constants and curves
        long enough, per-group exponents can extrapolate better than shared ones."""
        small = [f for f in fits if f.form.n_constants <= min(5, max(2, self.min_rows - 1))]
        out = []
        for f in self._top(small, k):
            cand = to_law(f, task)
            if cand is None or not cand.law.shared or cand.group_starts is None:
                continue
            law = cand.law
            out.append(dataclasses.replace(cand, law=dataclasses.replace(
                law, name=f"{law.formula} [per group]", shared=(), description=law.description + "; every constant per group")))
        return out


def _extends(form: Form, base: Form) -> bool:
    """``form`` is ``base`` (same link) with more terms or an added intercept."""
    if form.link != base.link or (base.intercept and not form.intercept):
        return False
    have, under = {t.key for t in form.terms}, {t.key for t in base.terms}
    return under <= have and (under < have or form.intercept > base.intercept)


def _simpler_terms(t: Term, by_key: dict) -> list[Term]:
    """Library terms of fewer variables that ``t`` reduces to when one of its exponents
    (or centre slopes) is zero, or when its break, shift or modifier does not matter."""
    return [by_key[k] for k in t.simpler() if k in by_key]


def _reductions(form: Form, by_key: dict) -> list[Form]:
    """Forms one step simpler than ``form``: a term dropped, or one term made simpler; and a
    modulated power split into two powers (as many constants, one more term)."""
    out = []
    terms = list(form.terms)
    for i, t in enumerate(terms):
        rest = terms[:i] + terms[i + 1:]
        rest_keys = {x.key for x in rest}
        if any(x.twin and x.original == t.key for x in rest):
            continue  # one of the pair goes: dropping the twin says it (a twin never stands alone)
        if rest:
            out.append(Form(form.link, form.intercept, tuple(rest)))
        for u in _simpler_terms(t, by_key):
            if u.key not in rest_keys:
                out.append(form.with_terms(rest + [u]))
        split = [by_key.get(k) for k in t.split()]
        if split and all(split) and not {u.key for u in split} & rest_keys:
            # x^-a (1 + b y^-g) and A x^-a + B y^-b have as many constants: the additive
            # (Chinchilla) split of a modulated power is the neighbour a beam grown by one term
            # at a time rarely reaches once the modulated term has taken both features
            out.append(form.with_terms(rest + split))
    return out
