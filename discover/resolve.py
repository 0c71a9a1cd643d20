"""Laws a user names, turned into laws over a table's columns.

Why a stage of its own: a run is asked for laws in three ways -- a catalog
name (``hoffmann2022``, bound to the table's columns by their roles), a
formula (``"E + A/params**a"``: variables are the feature columns it mentions,
constants the rest) or a :class:`~discover.law.Law` object -- and every later
stage sees only laws over the table's own columns.
"""

from __future__ import annotations

import difflib
from typing import Mapping

from . import catalog
from .data import Dataset, check_positive_for_law
from .errors import DataError
from .formula import parse_formula, symbol_name
from .law import Law


def resolve_laws(laws, dataset: Dataset, *, bind: Mapping[str, str] | None = None,
                 notes: list | None = None) -> list[Law]:
    """Turn catalog names, formula strings and Law objects into laws over the table's columns;
    ``notes`` collects a line for each formula name that looks like a misspelt column."""
    feats = [symbol_name(f) for f in dataset.features]
    if laws is None or laws == [] or laws == "all":
        out = catalog.applicable(dataset.features, target=dataset.target)
        return [law for law in out if _positive_ok(dataset, law)]
    if isinstance(laws, (str, Law)):
        laws = [laws]
    out = []
    for item in laws:
        if isinstance(item, Law):
            missing = [v for v in item.variables if v not in feats]
            law = item
            if missing:
                law = catalog.bind(item, dataset.features, bind)
            out.append(law)
            continue
        if not isinstance(item, str):
            raise DataError(f"a law must be a catalog name, a formula string or a Law, got {type(item).__name__}")
        text = item.strip()
        if text in catalog.names():
            out.append(catalog.bind(catalog.get(text), dataset.features, bind))
        elif _looks_like_name(text):
            catalog.get(text)  # raises a DataError with close matches
        else:
            out.append(formula_law(text, dataset, notes))
    for law in out:
        check_positive_for_law(dataset, law)
    return out


def _looks_like_name(text: str) -> bool:
    return text.replace("_", "").replace("-", "").isalnum() and not any(ch in text for ch in "+-*/^()")


def formula_law(text: str, dataset: Dataset, notes: list | None = None) -> Law:
    """A user formula: variables are the feature columns it mentions, constants the rest. The target
    itself is no variable (an error); a constant named almost like a column is said in ``notes``."""
    expr = parse_formula(text, name="law")
    names = {str(s) for s in expr.free_symbols}
    feats = [symbol_name(f) for f in dataset.features]
    used = [f for f in feats if f in names]
    target = symbol_name(dataset.target)
    if target in names:
        raise DataError(f"law {text!r} uses the target {dataset.target!r} as a variable; a law predicts the target "
                        f"from the features {dataset.features}")
    if not used:
        raise DataError(f"law {text!r} uses none of the features {dataset.features}")
    for n in sorted(names - set(feats)):
        close = difflib.get_close_matches(n, feats, n=1, cutoff=0.8)
        if close and notes is not None:
            notes.append(f"law {text!r}: {n!r} is not a feature, so it is fitted as a constant "
                         f"(did you mean {close[0]!r}?)")
    return Law.from_formula(expr, used, name=text, provenance="user formula")


def _positive_ok(dataset: Dataset, law: Law) -> bool:
    try:
        check_positive_for_law(dataset, law)
        return True
    except DataError:
        return False

