"""Roles of a table's columns: which column is a model size, data, compute, a learning rate ...

Why in the data layer: splits (compute from parameters and tokens), the
grammar (no optimum in a size), optimal allocation and the catalog's binding
all ask what a column stands for; the catalog is one reader among them.

Catalog laws are written over *roles* (``N`` for model size, ``D`` for training
tokens, ...), not over column names. :data:`ROLES` maps each role to a short
description and the column names it is commonly given in tables of runs.

How a column is recognised (:func:`match_role`), first rule that applies wins:

1. the column is exactly a role's name, case-sensitively (``N``, ``D``, ``P``,
   ``lr`` ...);
2. the column equals one of a role's aliases, ignoring case
   (``non_vocab_params`` -> N, ``num_characters`` -> D, ``unique_tokens`` -> U);
3. the column looks like a mixture proportion (``prop*``, ``proportion*``,
   ``ratio*``, ``mix*``, ``weight_*``, ``r_*``, ``p_domain*``): role ``r``,
   the one variadic role;
4. fallback, whole words -- first, a column naming a warmup (``warmup_tokens``)
   has no role, and one naming a batch is the batch size (``batch_tokens`` -> B),
   whatever unit they count in; then an alias (other than the generic ``size``, ``data``,
   ``p``, ``parallel``, ``step(s)`` and ``iteration(s)``, which only count as exact matches) occurs in the column as whole words (words
   split at ``_``, ``-``, ``.``, spaces, digits and camelCase), e.g.
   ``n_unique_tokens`` -> U, ``global_batch_size`` -> B,
   ``dense_parameter_count`` -> N;
5. fallback, plain substring: an alias of four or more letters occurs inside
   the column once separators are removed (``numparams`` -> N).

In both fallbacks the longest matching alias wins, so ``n_unique_tokens`` is U
(alias ``unique_tokens``), not D (alias ``tokens``). Columns that match nothing
have no role (``None``).

A column whose name says it holds a logarithm (first word ``log``, ``log10``,
``log2``, ``ln``: ``log_flops``, ``log10_params``) has no role after rule 1:
catalog laws read the quantity itself, and ``C**-a`` of a log (which may be
negative) is not Kaplan's compute law.
"""

from __future__ import annotations

import re

# role -> (description, aliases). Aliases are compared ignoring case.
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "N": (
        "model size: number of (non-embedding) parameters",
        (
            "params", "num_params", "n_params", "parameters", "non_vocab_params",
            "non_vocab_parameters", "model_size", "non_embedding_params",
            "non_embedding_parameters", "nparams", "size", "num_parameters",
            "n_parameters", "parameter_count", "param_count", "model_params",
        ),
    ),
    "D": (
        "training data: tokens (or characters, examples, samples) seen in training",
        (
            "tokens", "num_tokens", "data", "data_size", "sft_data_size",
            "num_characters", "dataset_size", "seen_examples", "n_tokens",
            "train_tokens", "samples", "training_tokens", "num_samples",
            "num_examples", "characters", "examples", "train_examples",
            # a learning curve's step axis is data seen (steps x batch): loss has no optimum in it
            "step", "steps", "train_steps", "training_steps", "num_steps", "iterations", "iteration", "iters",
        ),
    ),
    "C": (
        "training compute in FLOPs",
        ("flops", "compute", "train_flops", "training_flops", "compute_budget", "flop"),
    ),
    "U": (
        "unique training tokens (data before repetition)",
        ("unique_tokens", "unique_data", "num_unique_tokens", "unique"),
    ),
    "V": (
        "vocabulary size",
        ("vocab_size", "vocabulary", "vocab", "vocabulary_size"),
    ),
    "E": (
        "number of experts of a mixture-of-experts model",
        ("experts", "num_experts", "n_experts", "expert_count"),
    ),
    "G": (
        "expert granularity of a fine-grained mixture of experts",
        ("granularity", "expert_granularity"),
    ),
    "P": (
        "numerical precision in bits (e.g. of the weights)",
        ("precision", "bits", "p_w", "weight_bits", "precision_bits"),
    ),
    "K": (
        "number of parallel streams (ParScale)",
        ("streams", "parallel", "p", "num_streams", "parallel_streams"),
    ),
    "lr": (
        "learning rate",
        ("lr", "learning_rate", "eta", "peak_lr"),
    ),
    "B": (
        "batch size",
        ("batch_size", "bs", "bsz", "batchsize", "global_batch_size"),
    ),
    "S1": (
        "forward area under the learning-rate schedule up to a step (sum of lr over steps; Tissue et al. 2024)",
        ("lr_area", "forward_area", "s1"),
    ),
    "S2": (
        "annealing area of the learning-rate schedule: accumulated LR decrease with momentum (Tissue et al. 2024)",
        ("lr_anneal", "annealing_area", "anneal_area", "s2"),
    ),
    "LD": (
        "the multi-power law's loss-drop shape of the learning-rate schedule (Luo et al. 2025)",
        ("lr_drop", "loss_drop"),
    ),
    "r": (
        "mixture proportion of one data domain (variadic: one column per domain)",
        ("proportion", "mixture_proportion"),
    ),
}

VARIADIC = ("r",)

# Column prefixes that mark a mixture proportion (role r), compared ignoring case.
PROPORTION_PREFIXES = ("prop", "proportion", "ratio", "mix", "weight_", "r_", "p_domain")
# Column names that look like proportions by prefix but are not.
NOT_PROPORTIONS = frozenset({"weight_decay", "weight_bits", "mixed_precision"})
# Aliases too generic to be trusted inside a longer name (only an exact match counts):
# "hidden_size" is not a parameter count, "top_p" is not a number of streams.
GENERIC_ALIASES = frozenset({"size", "data", "p", "parallel", "step", "steps", "iteration", "iterations"})

_ALIAS_INDEX: dict[str, str] = {}
for _role, (_desc, _aliases) in ROLES.items():
    for _alias in _aliases:
        _ALIAS_INDEX.setdefault(_alias.lower(), _role)


def _words(text: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))
    return [w for w in re.split(r"[^A-Za-z]+", text.lower()) if w]


def _squash(text: str) -> str:
    return re.sub(r"[^a-z]", "", str(text).lower())


def _contains_words(words: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return n > 0 and any(words[i : i + n] == sub for i in range(len(words) - n + 1))


LOG_WORDS = frozenset({"log", "log10", "log2", "ln", "logarithm"})


def is_log_scale(column: str) -> bool:
    """Whether a column name says it holds a logarithm of a quantity (``log_flops``, ``ln N``)."""
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(column)).lower())
    words = [w for w in words if w]
    return bool(words) and words[0] in LOG_WORDS


def is_proportion(column: str) -> bool:
    """Whether a column name looks like a mixture proportion (role ``r``)."""
    low = str(column).lower()
    if low in NOT_PROPORTIONS:
        return False
    if low == "r":
        return True
    return any(low.startswith(p) for p in PROPORTION_PREFIXES)


#: Words that make a column a schedule's warmup length, a hyperparameter with an optimum, whatever
#: it counts (``warmup_tokens`` counts tokens, but more of it is not more data). A rate such as
#: ``tokens_per_param`` keeps its quantity's role: at a fixed model size, more of it is more data.
NO_ROLE_WORDS = frozenset({"warmup"})


def match_role_detail(column: str) -> tuple[str | None, int]:
    """The role of a column and the rule (1-5, 0 for none) that recognised it."""
    col = str(column)
    if col in ROLES:
        return col, 1
    if is_log_scale(col):
        return None, 0
    low = col.lower()
    if low in _ALIAS_INDEX:
        return _ALIAS_INDEX[low], 2
    if is_proportion(col):
        return "r", 3
    words = _words(col)
    if NO_ROLE_WORDS.intersection(words):
        return None, 0
    if "batch" in words:
        return "B", 4
    best: tuple[int, str] | None = None
    for alias, role in _ALIAS_INDEX.items():
        if role in VARIADIC or alias in GENERIC_ALIASES:
            continue
        if _contains_words(words, _words(alias)):
            key = len(_squash(alias))
            if best is None or key > best[0]:
                best = (key, role)
    if best is not None:
        return best[1], 4
    squashed = _squash(col)
    for alias, role in _ALIAS_INDEX.items():
        if role in VARIADIC or alias in GENERIC_ALIASES:
            continue
        a = _squash(alias)
        if len(a) >= 4 and a in squashed:
            if best is None or len(a) > best[0]:
                best = (len(a), role)
    if best is not None:
        return best[1], 5
    return None, 0


def match_role(column: str) -> str | None:
    """The role a column plays, or ``None`` (see the module docstring for the rules)."""
    return match_role_detail(column)[0]


#: Roles of a scale: model size, data, compute, unique data, the LR schedule's area. More of one
#: never hurts, so a law of loss has no interior optimum in it and is followed as it grows.
MONOTONE_ROLES = frozenset({"N", "D", "C", "U", "S1"})


def is_scale(column: str) -> bool:
    """A column whose role is a scale (:data:`MONOTONE_ROLES`); never a log-scale column."""
    return match_role(column) in MONOTONE_ROLES


#: Words of a target's name that say it is a score to maximise (accuracy, BLEU ...); any other
#: target (a loss, an error, a perplexity, bits per byte) is minimised.
MAXIMISED = frozenset({"acc", "accuracy", "score", "f1", "bleu", "rouge", "exact", "em", "pass", "win", "reward",
                       "auc", "precision", "recall", "correct", "success"})


def target_direction(target: str) -> str:
    """``"maximize"`` when the target's name says it is a score, else ``"minimize"``."""
    words = set(re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(target)).lower()))
    return "maximize" if words & MAXIMISED else "minimize"


def roles_of(features) -> dict[str, str | None]:
    """``{column: role or None}`` for a list of feature columns."""
    return {f: match_role(f) for f in features}


def describe(role: str) -> str:
    """One line naming a role and what it means."""
    if role in ROLES:
        return f"{role} ({ROLES[role][0]})"
    base = role.rstrip("0123456789")
    if base in VARIADIC and base in ROLES:
        return f"{role} ({ROLES[base][0]})"
    return role


__all__ = ["ROLES", "VARIADIC", "PROPORTION_PREFIXES", "MONOTONE_ROLES", "match_role", "match_role_detail",
           "roles_of", "is_proportion", "is_scale", "describe", "target_direction"]
