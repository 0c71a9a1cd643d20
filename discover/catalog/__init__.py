"""The catalog of published scaling laws.

Each family of laws lives in its own small module (``chinchilla``, ``kaplan``,
``data_constrained`` ...). Every law is a plain :class:`discover.law.Law` over
*role* variables (``N`` parameters, ``D`` tokens, ``U`` unique tokens, ...; see
:mod:`discover.roles`), with a citation, bounds and starting values for
its constants, and the paper's constants where the paper gives them.

Public API:

* :func:`names` -- every law name, sorted;
* :func:`get` -- one law by name, unbound (its variables are role names);
* :func:`bind` -- a law with its roles renamed to a table's feature columns;
* :func:`applicable` -- every law that binds to a list of feature columns,
  already bound;
* :data:`ROLES` -- role name -> (description, column aliases).

What the catalog knows about a law beyond the law itself (its family, what
it predicts, how a variadic law is rebuilt) is its :class:`CatalogEntry`
(:func:`entry`).

Binding (``bind``) gives every role variable of a law a *distinct* feature
column: first from the explicit ``mapping`` (``{"N": "n_params"}``), then by
the role's aliases (:func:`roles.match_role`), and only then, when the law has
exactly as many variables as there are features, positionally over the
remaining features that no alias claims for another role. A feature is never
used for two roles.

Variadic laws (the data mixing law ``ye2024``, over any number of proportion
columns) are built by a plain function returning a ``Law``;
``get("ye2024")`` has two proportions, ``bind``/``applicable`` rebuild it for
the proportion columns present.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Mapping, Sequence

from ..errors import DataError
from ..law import Law
from . import (
    broken,
    chinchilla,
    data_constrained,
    finetune,
    hyperparams,
    kaplan,
    mixing,
    moe,
    parallel,
    power,
    precision,
    schedule,
    vocab,
)
from ..roles import ROLES, VARIADIC, describe, match_role, match_role_detail, roles_of
from .entry import BUILDERS, CatalogEntry

# Family modules in the order laws are listed by ``applicable``.
FAMILIES = (
    chinchilla,
    kaplan,
    power,
    data_constrained,
    broken,
    vocab,
    finetune,
    moe,
    mixing,
    hyperparams,
    parallel,
    precision,
    schedule,
)

# Friendly names accepted by ``get`` besides the canonical law names.
ALIASES = {
    "chinchilla": "hoffmann2022",
    "hoffmann": "hoffmann2022",
    "epoch": "besiroglu2024",
    "besiroglu": "besiroglu2024",
    "kaplan": "kaplan2020",
    "hestness": "hestness2017",
    "data_constrained": "muennighoff2023",
    "muennighoff": "muennighoff2023",
    "bnsl": "caballero2022",
    "broken": "caballero2022",
    "vocab": "tao2024",
    "rectified": "lin2024",
    "sft": "lin2024",
    "mixing": "ye2024",
    "parscale": "chen2025",
    "precision": "kumar2024",
    "steplaw_lr": "steplaw2025_lr",
    "steplaw_bs": "steplaw2025_bs",
    "tissue": "tissue2024",
    "lra": "tissue2024",
    "multipower": "luo2025",
    "mpl": "luo2025",
}

# Output kinds of laws (``CatalogEntry.predicts``) and the role a target column has.
HYPER_TARGETS = ("lr", "B")


@lru_cache(maxsize=1)
def _registry() -> dict[str, CatalogEntry]:
    out: dict[str, CatalogEntry] = {}
    for module in FAMILIES:
        for e in module.laws():
            if e.name in out:
                raise RuntimeError(f"catalog law {e.name!r} is defined twice")
            out[e.name] = e
    return out


def names() -> list[str]:
    """All catalog law names, sorted."""
    return sorted(_registry())


def families() -> list[str]:
    """The catalog's family names (one module each)."""
    return [m.__name__.rsplit(".", 1)[-1] for m in FAMILIES]


def all_laws() -> list[Law]:
    """Every catalog law, unbound, in catalog order (family by family)."""
    return [e.law for e in _registry().values()]


def get(name: str) -> Law:
    """A catalog law by name, unbound: its variables are role names.

    Raises :class:`~discover.errors.DataError` naming the unknown law and
    listing the closest names.
    """
    return entry(name).law


def entry(name: str) -> CatalogEntry:
    """The catalog entry of a law by name (or alias); see :func:`get`."""
    registry = _registry()
    key = str(name).strip()
    if key in registry:
        return registry[key]
    low = key.lower()
    if low in registry:
        return registry[low]
    if low in ALIASES:
        return registry[ALIASES[low]]
    close = difflib.get_close_matches(low, list(registry) + list(ALIASES), n=4, cutoff=0.5)
    close = list(dict.fromkeys(ALIASES.get(c, c) for c in close))
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known laws: {', '.join(names())}"
    raise DataError(f"unknown catalog law {name!r}{hint}")


def build(name: str, k: int) -> Law:
    """A variadic catalog law built for ``k`` columns of its repeating role."""
    e = entry(name)
    if e.builder is None:
        raise DataError(f"catalog law {e.name!r} is not variadic; it always has variables {list(e.law.variables)}")
    return BUILDERS[e.builder](k).law


def _entry_of(law: Law) -> CatalogEntry | None:
    """The catalog entry a law comes from: its name and formula are the entry's."""
    e = _registry().get(law.name)
    return e if e is not None and e.law.expr == law.expr and e.law.variables == law.variables else None


# ------------------------------------------------------------------ binding
def _check_features(features: Sequence[str]) -> list[str]:
    if isinstance(features, str):
        features = [features]
    feats = [str(f) for f in features]
    dup = sorted({f for f in feats if feats.count(f) > 1})
    if dup:
        raise DataError(f"feature columns are repeated: {dup}")
    return feats


def _check_mapping(mapping: Mapping | None, features: list[str]) -> None:
    """Reject a mapping that names unknown roles or columns outside the features."""
    for key, cols in dict(mapping or {}).items():
        if _role_key(str(key)) not in ROLES:
            raise DataError(f"mapping names {key!r}, which is not a role ({', '.join(ROLES)})")
        for col in [cols] if isinstance(cols, str) else list(cols):
            if col not in features:
                raise DataError(f"mapping binds role {key!r} to column {col!r}, which is not among the features {features}")


def _role_key(variable: str) -> str:
    """The role a law variable stands for (``r3`` -> ``r``)."""
    if variable in ROLES:
        return variable
    base = variable.rstrip("0123456789")
    return base if base in VARIADIC else variable


def _candidates(role: str, features: Sequence[str], used: set[str]) -> list[str]:
    """Unused features that play ``role``, best-recognised first, then in table order."""
    found = []
    for i, f in enumerate(features):
        if f in used:
            continue
        r, rule = match_role_detail(f)
        if r == role:
            found.append((rule, i, f))
    return [f for _, _, f in sorted(found)]


def _bind_variadic(e: CatalogEntry, features: list[str], mapping: dict) -> Law:
    law = e.law
    role = e.variadic
    builder = BUILDERS[e.builder]
    explicit = mapping.get(role)
    if explicit is not None:
        cols = [explicit] if isinstance(explicit, str) else list(explicit)
        missing = [c for c in cols if c not in features]
        if missing:
            raise DataError(f"mapping for role {role!r} names columns {missing} that are not among the features {features}")
    else:
        numbered = {k: v for k, v in mapping.items() if _role_key(str(k)) == role and str(k) != role}
        if numbered:
            cols = [numbered[k] for k in sorted(numbered, key=lambda s: int(str(s)[len(role):] or 0))]
        else:
            used = {v for k, v in mapping.items() if isinstance(v, str)}
            cols = _candidates(role, features, used)
            cols.sort(key=features.index)
    if not cols:
        # No proportion columns by name: fall back to the law as it is (2 variables),
        # which may still bind by explicit mapping or positionally.
        return _bind_fixed(law, features, mapping)
    if len(set(cols)) != len(cols):
        raise DataError(f"a feature column is used twice for role {role!r}: {cols}")
    built = builder(len(cols)).law
    return built.bind(dict(zip(built.variables, cols)))


def _bind_fixed(law: Law, features: list[str], mapping: dict) -> Law:
    variables = list(law.variables)
    binding: dict[str, str] = {}
    used: set[str] = set()
    for key, col in mapping.items():
        key = str(key)
        if key not in variables:
            if _role_key(key) in ROLES:
                # A role this law does not use: its columns stay reserved for it.
                used.update([col] if isinstance(col, str) else list(col))
                continue
            raise DataError(f"mapping names {key!r}, which is neither a role ({', '.join(ROLES)}) nor a variable of law {law.name}")
        if not isinstance(col, str):
            raise DataError(f"mapping for role {key!r} must be one column name, got {col!r}")
        if col not in features:
            raise DataError(f"mapping binds role {key!r} to column {col!r}, which is not among the features {features}")
        if col in used:
            raise DataError(f"mapping binds column {col!r} to two roles; a feature may play only one role")
        binding[key] = col
        used.add(col)
    for var in variables:
        if var in binding:
            continue
        found = _candidates(_role_key(var), features, used)
        if found:
            binding[var] = found[0]
            used.add(found[0])
    unbound = [v for v in variables if v not in binding]
    if unbound and len(variables) == len(features):
        free = [f for f in features if f not in used and match_role(f) is None]
        if len(free) == len(unbound):
            for var, col in zip(unbound, free):
                binding[var] = col
                used.add(col)
            unbound = []
    if unbound:
        role = unbound[0]
        raise DataError(
            f"law {law.name}: no feature column for role {describe(role)} among {features}; "
            f"name it explicitly, e.g. mapping={{{role!r}: '<column>'}}"
        )
    return law.bind(binding)


def bind(law: Law | str, features: Sequence[str], mapping: Mapping[str, str] | None = None) -> Law:
    """Bind a catalog law's role variables to distinct feature columns.

    Order: the explicit ``mapping`` ({role: column}; for the variadic role
    ``r`` a list of columns), then role aliases, then -- only when the law has
    exactly as many variables as there are features -- positionally over the
    remaining features that no alias assigns to another role. Raises
    :class:`~discover.errors.DataError` naming the role that could not be bound.
    """
    if isinstance(law, str):
        law = get(law)
    if not isinstance(law, Law):
        raise DataError(f"bind needs a catalog Law or law name, got {type(law).__name__}")
    feats = _check_features(features)
    _check_mapping(mapping, feats)
    mapping = dict(mapping or {})
    e = _entry_of(law)
    if e is not None and e.builder:
        return _bind_variadic(e, feats, mapping)
    return _bind_fixed(law, feats, mapping)


def applicable(
    features: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    *,
    target: str | None = None,
) -> list[Law]:
    """Every catalog law that binds to these features, bound, in catalog order.

    A law is applicable when each of its variables gets a distinct feature by
    the explicit mapping, by alias, or by the positional rule of :func:`bind`;
    laws with more variables than there are features never are.

    ``target`` (optional) is the column the laws will predict. When it names an
    optimal hyperparameter (a learning-rate or batch-size column) only the laws
    predicting that hyperparameter are returned; otherwise hyperparameter laws
    are left out. Without ``target`` every law that binds is returned.
    """
    feats = _check_features(features)
    _check_mapping(mapping, feats)
    want = None
    if target is not None:
        role = match_role(str(target))
        want = role if role in HYPER_TARGETS else "loss"
    out = []
    for e in _registry().values():
        law = e.law
        if want is not None and e.predicts != want:
            continue
        if not e.builder and len(law.variables) > len(feats):
            continue
        try:
            bound = bind(law, feats, mapping)
        except DataError:
            continue
        if len(bound.variables) > len(feats):
            continue
        out.append(bound)
    return out


__all__ = [
    "ROLES",
    "ALIASES",
    "FAMILIES",
    "CatalogEntry",
    "names",
    "entry",
    "families",
    "all_laws",
    "get",
    "build",
    "bind",
    "applicable",
    "match_role",
    "roles_of",
]
