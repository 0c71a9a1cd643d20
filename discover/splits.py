"""Extrapolation splits: which runs are fitted, which select, which test.

A scaling law is judged by runs larger than anything it was fitted on, so the
test set is the top of the scale and the validation band (used only to choose
between laws) is the top of what remains, carved by the same rule. Test rows
never reach a fitter or a selector.

SPEC strings (CLI and API alike):

- ``column:COL``        a column with train/test (and optionally val) labels, or a boolean or 0/1
                        flag of the test rows (true/1 = test)
- ``largest:COL:FRAC``  the largest FRAC of COL is the test set
- ``compute:FRAC``      the largest FRAC by training compute (a flops column, or 6·N·D)
- ``group:NAME``        leave the group NAME out (needs a group column)
- ``random:FRAC``       a random FRAC (interpolation, reported as such)
- ``tail:FRAC``         a curve table: the last FRAC of every run's steps (extrapolation in time)
- ``none``              every row is fitted; train metrics only

On a curve table (rows are evaluations of runs) ``largest:`` and ``compute:``
rank whole runs by their largest value (a run's model size, its length, its
final compute), so a run's curve is fitted, selected on or tested whole: a
band cut through the middle of curves would test interpolation between steps
the fit saw. The validation bands under any split of a curve table rank whole
runs the same way. ``tail:FRAC`` cuts every curve instead, and so do its
validation bands (the last FRAC of each run's remaining steps).

One module, though long: every split rule carves its test set and the
selection bands under it with the same pieces (``_top``, ``_band``,
``_carve_val``), which are only right together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from . import roles
from .data import Dataset
from .errors import DataError

TRAIN, VAL, TEST = "train", "val", "test"
BACKTEST, BACKTEST2 = "backtest", "backtest2"  # the bands below validation, each predicted from the rows under it
LOO = "loo"  # small tables: each row predicted from all the other rows
SELECT = "select"  # a law's metrics pooled over its selection folds (with per-band residuals): what it is chosen by
DEFAULT_VAL_FRAC = 0.15
#: Forward bands a law is judged on, where the rows allow: the validation band and the two below it.
SELECTION_FOLDS = 3
#: Below this many rows to fit on, a forward band of 15 % holds four rows or fewer -- too few for the
#: paired test to tell laws apart -- and the rows left under it may not reach the regime the top rows
#: are in (a break near the end of a short curve): selection then predicts every row from all the
#: others (leave-one-out cross-validation), so every fit sees the top of the range and every row
#: speaks.
SMALL_TABLE_ROWS = 30
# A boolean or 0/1 column is a flag of the test rows ("is_test", "held_out"): true / 1 marks a test row.
_COLUMN_LABELS = {
    "train": TRAIN, "training": TRAIN, "fit": TRAIN, "0": TRAIN, "0.0": TRAIN, "false": TRAIN,
    "val": VAL, "valid": VAL, "validation": VAL, "dev": VAL,
    "test": TEST, "testing": TEST, "holdout": TEST, "extrapolation": TEST, "1": TEST, "1.0": TEST, "true": TEST,
}
COMPUTE_COLUMNS = ("flops", "compute", "train_flops", "c", "C", "FLOPs")


@dataclass(frozen=True)
class Fold:
    """One band that laws are chosen on: the rows it fits and the rows it predicts, in pieces
    (one for a forward band, one per predicted row for leave-one-out)."""

    name: str
    pieces: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def n_eval(self) -> int:
        return int(sum(len(e) for _, e in self.pieces))


@dataclass
class Split:
    """Row labels train/val/test, how they were made, and the folds laws are chosen on."""

    labels: np.ndarray
    rule: str
    kind: str  # "extrapolation", "interpolation", "leave-group-out", "none"
    scale: str | None = None  # column the validation band was carved along
    folds: list[Fold] = field(default_factory=list)  # the selection folds, nearest the test rows first
    notes: list[str] = field(default_factory=list)  # what a user must know about how the split was made

    @property
    def selection(self) -> str:
        """How laws are chosen: forward bands, leave-one-out (every row from all the others), or none."""
        if not self.folds:
            return "none"
        return "leave-one-out" if self.folds[0].name == LOO else "forward bands"

    @property
    def backtest(self) -> tuple | None:
        """(fit rows, eval rows) of the band just below validation, inside train, or None."""
        fold = next((f for f in self.folds if f.name == BACKTEST), None)
        return None if fold is None else fold.pieces[0]

    @property
    def has_backtest(self) -> bool:
        return self.backtest is not None and len(self.backtest[0]) > 0 and len(self.backtest[1]) > 0

    def rows(self, which: str) -> np.ndarray:
        return np.flatnonzero(self.labels == which)

    @property
    def fit_rows(self) -> np.ndarray:
        """Rows a final refit may use: train and validation (never test)."""
        return np.flatnonzero(self.labels != TEST)

    def sizes(self) -> dict:
        return {k: int(np.sum(self.labels == k)) for k in (TRAIN, VAL, TEST)}

    def describe(self) -> dict:
        out = {"rule": self.rule, "kind": self.kind, "scale": self.scale, "sizes": self.sizes()}
        if self.has_backtest:
            out["backtest"] = {"fit": int(len(self.backtest[0])), "eval": int(len(self.backtest[1]))}
        out["selection"] = {"rule": self.selection, "folds": {f.name: f.n_eval for f in self.folds}}
        return out


def _frac(text: str, spec: str) -> float:
    try:
        f = float(text)
    except ValueError:
        raise DataError(f"split {spec!r}: {text!r} is not a fraction") from None
    if not 0 < f < 1:
        raise DataError(f"split {spec!r}: fraction must be between 0 and 1, got {f}")
    return f


def make_split(dataset: Dataset, spec: str | None, *, seed: int = 0, val_frac: float = DEFAULT_VAL_FRAC,
               split_column: str | None = None) -> Split:
    """Build a :class:`Split` from a SPEC string (see module doc)."""
    n = dataset.n_rows
    if spec is None or str(spec).strip().lower() in {"", "none"}:
        return Split(np.array([TRAIN] * n, dtype=object), "none", "none")
    spec = str(spec).strip()
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    frame = dataset.frame
    if kind == "column":
        col = rest or split_column or "split"
        if col not in frame.columns:
            raise DataError(f"split {spec!r}: column {col!r} is not in the table")
        raw = frame[col].astype(str).str.strip().str.lower()
        unknown = sorted(set(raw) - set(_COLUMN_LABELS))
        if unknown:
            raise DataError(f"split column {col!r} has unknown labels {unknown[:5]} (use train/val/test)")
        labels = raw.map(_COLUMN_LABELS).to_numpy(dtype=object)
        split = Split(labels, spec, "extrapolation")
        if not np.any(labels == VAL):
            keys, split.scale = _test_directions(dataset, labels)
            _carve_val(dataset, split, keys, val_frac)
        return _checked(split, spec)
    if kind in {"largest", "compute"}:
        if kind == "largest":
            col, _, f = rest.rpartition(":")
            if not col:
                raise DataError(f"split {spec!r} must look like largest:COLUMN:FRACTION")
            if col not in frame.columns:
                raise DataError(f"split {spec!r}: column {col!r} is not in the table")
            key = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            if not np.all(np.isfinite(key)):
                raise DataError(f"split {spec!r}: column {col!r} must be numeric and finite")
            scale = col
            key = per_run_max(dataset, key)
        else:
            f = rest
            _frac(f, spec)  # a bad fraction is named before any missing compute column
            key, scale = compute_key(dataset)
            key = per_run_max(dataset, key)
        frac = _frac(f, spec)
        labels = np.array([TRAIN] * n, dtype=object)
        labels[_top(key, frac, np.arange(n))] = TEST
        split = Split(labels, spec, "extrapolation", scale)
        if kind == "compute":
            split.notes.append(f"split {spec} ranks the runs by {'column ' + repr(scale) if scale in frame.columns else scale}"
                               " as their training compute")
        _carve_val(dataset, split, key, val_frac)
        return _checked(split, spec)
    if kind == "group":
        if dataset.group is None:
            raise DataError(f"split {spec!r} needs a group column (--group)")
        if not rest:
            raise DataError(f"split {spec!r} must name the group to leave out, e.g. group:NAME")
        groups = dataset.groups
        if rest not in set(groups):
            raise DataError(f"split {spec!r}: group {rest!r} is not in column {dataset.group!r}")
        labels = np.where(groups == rest, TEST, TRAIN).astype(object)
        split = Split(labels, spec, "leave-group-out")
        key, scale = _default_scale(dataset)
        split.scale = scale
        _carve_val(dataset, split, key, val_frac, per_group=False)
        return _checked(split, spec)
    if kind == "tail":
        if dataset.curve is None:
            raise DataError(f"split {spec!r} cuts the end off every training curve; it needs a curve table (--curve)")
        frac = _frac(rest, spec)
        labels = np.array([TRAIN] * n, dtype=object)
        labels[_tail(dataset, np.arange(n), frac)] = TEST
        split = Split(labels, spec, "extrapolation", f"{dataset.curve['step']} within each run")
        _carve_val(dataset, split, None, val_frac, band=lambda rows: _tail(dataset, rows, val_frac))
        return _checked(split, spec)
    if kind == "random":
        frac = _frac(rest, spec)
        rng = np.random.default_rng(seed)
        order = rng.permutation(n)
        n_test = max(1, int(round(frac * n)))
        n_val = max(1, int(round(val_frac * (n - n_test))))
        labels = np.array([TRAIN] * n, dtype=object)
        labels[order[:n_test]] = TEST
        labels[order[n_test:n_test + n_val]] = VAL
        return _checked(Split(labels, spec, "interpolation"), spec)
    raise DataError(f"unknown split {spec!r}: use column:COL, largest:COL:FRAC, compute:FRAC, group:NAME, random:FRAC, "
                    f"tail:FRAC or none")


def per_run_max(dataset: Dataset, key: np.ndarray) -> np.ndarray:
    """On a curve table, each row's key replaced by its run's largest (a run is ranked whole)."""
    runs = dataset.runs
    if runs is None:
        return key
    return pd.Series(key).groupby(runs).transform("max").to_numpy(dtype=float)


def _tail(dataset: Dataset, rows: np.ndarray, frac: float) -> np.ndarray:
    """The rows (of ``rows``) in the last ``frac`` of their run's steps among ``rows``: step > (1 - frac) *
    the run's last step. A run whose rows would all fall in the band (or all but one) gives none."""
    steps = dataset.frame[dataset.curve["step"]].to_numpy(dtype=float)
    runs = dataset.runs
    out = []
    for run in np.unique(runs[rows]):
        sub = rows[runs[rows] == run]
        band = sub[steps[sub] > (1.0 - frac) * steps[sub].max()]
        if 0 < len(band) < len(sub) - 1:
            out.append(band)
    return np.sort(np.concatenate(out)) if out else rows[:0]


def compute_key(dataset: Dataset) -> tuple[np.ndarray, str]:
    """Training compute per row: a flops column if there is one, else 6·N·D."""
    for c in COMPUTE_COLUMNS:
        if c in dataset.frame.columns:
            key = pd.to_numeric(dataset.frame[c], errors="coerce").to_numpy(dtype=float)
            if np.all(np.isfinite(key)):
                return key, c
    n_col = next((f for f in dataset.features if roles.match_role(f) == "N"), None)
    d_col = next((f for f in dataset.features if roles.match_role(f) == "D"), None)
    if n_col and d_col:
        return 6.0 * dataset.frame[n_col].to_numpy(float) * dataset.frame[d_col].to_numpy(float), f"6*{n_col}*{d_col}"
    raise DataError("split compute:FRAC needs a flops column or features for parameters and tokens; use largest:COL:FRAC")


def _default_scale(dataset: Dataset) -> tuple[np.ndarray, str]:
    try:
        return compute_key(dataset)
    except DataError:
        col = dataset.features[0]
        return dataset.frame[col].to_numpy(dtype=float), col


def _test_directions(dataset: Dataset, labels: np.ndarray) -> tuple[list[np.ndarray], str]:
    """Scale keys along which the test rows lie beyond the train rows.

    For a given column split we do not know the rule that made it (largest
    vocabulary? largest models *or* longest training?), so we read it off the
    labels: every feature on which test rows rank clearly above train rows
    (rank AUC >= 0.65) is a direction of extrapolation, and the validation
    band takes the top of the train rows along each of them. When no single
    feature separates, a logistic regression on the log features gives one
    combined direction.
    """
    test = labels == TEST
    train = labels == TRAIN
    cols = {}
    for c in dataset.features:
        x = dataset.frame[c].to_numpy(dtype=float)
        cols[c] = np.log(x) if np.all(x > 0) else x
    if not test.any() or not train.any():
        c = dataset.features[0]
        return [cols[c]], c
    n1, n0 = int(test.sum()), int(train.sum())
    dirs = []
    for c, x in cols.items():
        ranks = pd.Series(x[test | train]).rank().to_numpy()
        t = test[test | train]
        auc = (ranks[t].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
        if auc >= 0.65:
            dirs.append((auc, c))
    if dirs:
        dirs.sort(reverse=True)
        return [cols[c] for _, c in dirs], " | ".join(c for _, c in dirs)
    Z = np.column_stack(list(cols.values()))
    sd = Z.std(axis=0)
    sd[sd == 0] = 1.0
    Z = (Z - Z.mean(axis=0)) / sd
    w = LogisticRegression(C=1.0, max_iter=1000).fit(Z, test.astype(int)).coef_[0]
    desc = " + ".join(f"{v:.2f}*log({c})" for v, c in sorted(zip(w, cols), key=lambda t: -abs(t[0])))
    return [Z @ w], f"test-likeness ({desc})"


def _top(key: np.ndarray, frac: float, rows: np.ndarray) -> np.ndarray:
    """Rows (subset of ``rows``) whose key is in the top ``frac`` (ties kept together)."""
    if len(rows) == 0:
        return rows
    k = key[rows]
    threshold = np.quantile(k, 1 - frac, method="higher")
    top = rows[k >= threshold]
    return top


def _band(dataset: Dataset, rows: np.ndarray, key, frac: float, per_group: bool) -> np.ndarray:
    """The top ``frac`` of ``rows`` by ``key``: inside every group when constants are per group
    (each group needs its own held-out rows); groups too small to spare rows give none.
    With several keys (directions of extrapolation) the band is the union of the
    top ``frac / len(keys)`` along each, unless that union takes more than twice
    ``frac`` of the rows: on a coarse grid the top level of each direction is a
    large slice (a third of the rows with three model sizes), and the union can
    leave too few distinct (N, D) points to fit a law on. The band is then the
    top ``frac`` along the combined scale, the sum of the keys (the log of N·D
    when the keys are log N and log D), which is how such test sets are usually
    cut."""
    if isinstance(key, (list, tuple)):
        if len(key) == 1:
            key = key[0]
        else:
            parts = [_band(dataset, rows, k, frac / len(key), per_group) for k in key]
            union = np.unique(np.concatenate(parts)) if parts else rows[:0]
            if len(union) <= 2 * frac * len(rows):
                return union
            combined = _band(dataset, rows, np.sum(key, axis=0), frac, per_group)
            return combined if 0 < len(combined) < len(union) else union
    if len(rows) < 4:
        return rows[:0]
    groups = dataset.groups
    if groups is not None and per_group:
        out = []
        for g in np.unique(groups[rows]):
            sub = rows[groups[rows] == g]
            if len(sub) < 4 or len(np.unique(key[sub])) < 2:
                continue
            top = _top(key, frac, sub)
            if 0 < len(top) < len(sub) - 1:
                out.append(top)
        return np.sort(np.concatenate(out)) if out else rows[:0]
    top = _top(key, frac, rows)
    return top if 0 < len(top) < len(rows) - 1 else rows[:0]


def _carve_val(dataset: Dataset, split: Split, key: np.ndarray | None, val_frac: float, per_group: bool = True,
               band=None):
    """Mark the top ``val_frac`` of the train rows by ``key`` as validation and set the
    selection folds: that band and, below it, up to :data:`SELECTION_FOLDS` - 1 more bands
    (rolling origin: each the top ``val_frac`` of what remains, predicted from the rows under it).

    Judging on several nested extrapolation bands instead of one lets more rows speak and makes
    the choice among hundreds of candidates much less sensitive to the noise of one band. A small
    ungrouped table (under :data:`SMALL_TABLE_ROWS` rows to fit on) gets no validation band: each
    of its rows is predicted from all the others instead (:data:`LOO`). ``band`` (rows -> band rows)
    replaces the cut by ``key`` (the tail of every curve).
    """
    if band is None:
        if dataset.curve is not None and key is not None:  # a curve is ranked whole (whatever the split)
            key = [per_run_max(dataset, k) for k in key] if isinstance(key, (list, tuple)) else per_run_max(dataset, key)

        def band(rows):
            return _band(dataset, rows, key, val_frac, per_group)
    train = split.rows(TRAIN)
    grouped = dataset.group is not None and per_group
    if not grouped and dataset.curve is None and len(train) < SMALL_TABLE_ROWS:
        split.folds = [Fold(LOO, tuple((np.setdiff1d(train, [i]), np.array([i])) for i in train))]
        return
    val = band(train)
    if not len(val):
        return
    split.labels[val] = VAL
    rest = split.rows(TRAIN)
    folds = [Fold(VAL, ((rest, val),))]
    for name in (BACKTEST, BACKTEST2)[: SELECTION_FOLDS - 1]:
        below = band(rest)
        if not len(below) or not _spans(dataset, np.setdiff1d(rest, below), key):
            break
        rest = np.setdiff1d(rest, below)
        folds.append(Fold(name, ((rest, below),)))
    split.folds = folds


def band_clusters(dataset: Dataset, split: Split) -> dict[str, np.ndarray] | None:
    """On a curve table, the run of every row each selection band predicts, in the order its
    residuals are kept (for cluster-robust comparisons of laws); ``None`` for other tables."""
    runs = dataset.runs
    if runs is None or not split.folds:
        return None
    return {fold.name: runs[np.concatenate([rows for _, rows in fold.pieces])] for fold in split.folds}


def _spans(dataset: Dataset, rows: np.ndarray, key) -> bool:
    """Whether the rows a backtest band is predicted from still vary along the key of a curve table.
    Whole runs move into each band, so on a ladder of four model sizes the second band below the
    test set leaves the curves of one size: no law in the size can be fitted there, and the band
    would judge laws by a fit that cannot see their size term."""
    if dataset.curve is None or key is None or isinstance(key, (list, tuple)):
        return True
    return len(np.unique(np.asarray(key)[rows])) >= 2


def _checked(split: Split, spec: str) -> Split:
    if not split.folds and np.any(split.labels == VAL):  # validation rows given (or drawn at random)
        split.folds = [Fold(VAL, ((split.rows(TRAIN), split.rows(VAL)),))]
    sizes = split.sizes()
    if sizes[TRAIN] == 0:
        raise DataError(f"split {spec!r} leaves no training rows")
    if split.kind != "none" and sizes[TEST] == 0:
        raise DataError(f"split {spec!r} leaves no test rows")
    return split

