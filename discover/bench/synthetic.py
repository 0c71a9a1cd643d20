"""Synthetic recovery suite: tables drawn from known published law forms.

Each :class:`SyntheticTask` is a table generated from a published scaling-law
form with known ("true") constants on a realistic grid of runs, plus noise.
A fitter should recover the constants; a search should rediscover the form;
both should forecast the held-out largest runs. Tasks are deterministic for a
seed::

    >>> from discover.bench import synthetic
    >>> suite = synthetic.tasks(seed=0, noise=0.01)
    >>> task = suite[0]
    >>> task.truth.predict(task.frame)          # the noise-free law on every row

Conventions, the same for every task:

* columns are named like real tables (``params``, ``tokens``,
  ``unique_tokens``, ``vocab_size``, ``learning_rate``, ``batch_size``,
  ``experts``, ``precision_bits``, ``streams``, ...), and the law's variables
  are those column names;
* the target is ``loss`` (nats per token), except for the vocabulary task
  whose target is a unigram-normalised loss that is negative;
* noise is multiplicative, ``y = truth * exp(Normal(0, noise))``, for positive
  targets; for a target that can be negative it is additive,
  ``y = truth + Normal(0, noise * std(truth))`` (``noise_kind`` says which and
  ``noise_scale`` gives the absolute standard deviation used);
* the ``split`` column marks the ~20 % largest-scale rows as ``test`` (the
  scale is the task's ``scale`` expression, e.g. ``params*tokens``; rows tied
  on scale fall on the same side), the rest ``train``;
* each task draws its noise from its own stream, seeded by (seed, task name),
  so adding a task never changes the others.

Constants come from the papers where they are published (marked "published"
in each task's ``description``); otherwise they are chosen to give realistic
losses over the grid and are marked "illustrative".

One module, though long: most of it is the task specifications, which are data.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from ..law import Law, Param

__all__ = ["SyntheticTask", "tasks", "task", "names", "to_directory"]

TEST_FRACTION = 0.2


@dataclass
class SyntheticTask:
    """One synthetic table with its known generating law."""

    name: str
    truth: Law
    frame: pd.DataFrame
    features: list[str]
    target: str
    noise: float
    noise_kind: str = "multiplicative"
    noise_scale: float = 0.0
    scale: str = ""
    citation: str = ""
    description: str = ""

    @property
    def constants(self) -> dict[str, float]:
        return dict(self.truth.constants or {})

    def true_values(self, frame: pd.DataFrame | None = None) -> np.ndarray:
        """The noise-free law on ``frame`` (default: this task's table)."""
        return self.truth.predict(self.frame if frame is None else frame)

    def scale_values(self, frame: pd.DataFrame | None = None) -> np.ndarray:
        """The scale the split is made on, for every row."""
        return _scale_law(self.scale, self.features).predict(self.frame if frame is None else frame)

    @property
    def train(self) -> pd.DataFrame:
        return self.frame[self.frame["split"] == "train"]

    @property
    def test(self) -> pd.DataFrame:
        return self.frame[self.frame["split"] == "test"]

    def task_file(self, table: str | None = None) -> dict:
        """The task-file dictionary (same format as the SLDBench task files, plus ``truth``)."""
        return {
            "table": table or f"{self.name}.csv",
            "target": self.target,
            "features": list(self.features),
            "group": None,
            "split": "column:split",
            "truth": {
                "expression": self.truth.formula,
                "constants": {k: float(v) for k, v in self.constants.items()},
                "noise": {"kind": self.noise_kind, "sigma": self.noise, "scale": self.noise_scale},
                "scale": self.scale,
                "citation": self.citation,
            },
        }


# ----------------------------------------------------------------- the forms
@dataclass(frozen=True)
class _Spec:
    name: str
    formula: str
    features: tuple[str, ...]
    constants: Mapping[str, float]
    grid: Callable[[], pd.DataFrame]
    scale: str
    citation: str
    description: str
    target: str = "loss"
    noise_kind: str = "multiplicative"
    params: Mapping[str, Param] = field(default_factory=dict)


def _product(**levels: Sequence[float]) -> pd.DataFrame:
    rows = list(itertools.product(*levels.values()))
    return pd.DataFrame(rows, columns=list(levels), dtype=float)


def _pos(name, lower=0.0, upper=math.inf, init=(1.0,)) -> Param:
    return Param(name=name, lower=lower, upper=upper, init=tuple(init))


def _exp(name, lower=0.0, upper=3.0, init=(0.1, 0.3, 0.7)) -> Param:
    return Param(name=name, lower=lower, upper=upper, init=tuple(init))


def _big(name, lower, upper, init) -> Param:
    return Param(name=name, lower=lower, upper=upper, init=tuple(init), log_scale=True)


# Hoffmann et al. 2022, approach 3 (published).
_HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def _chinchilla_grid() -> pd.DataFrame:
    """IsoFLOP sweep: 16 budgets 6e18..3e21 FLOPs, 25 sizes over +-1.25 decades around N_opt: 400 runs,
    as Hoffmann et al. trained "over 400" models."""
    h = _HOFFMANN
    g = (h["alpha"] * h["A"] / (h["beta"] * h["B"])) ** (1 / (h["alpha"] + h["beta"]))
    rows = []
    for c in np.geomspace(6e18, 3e21, 16):
        n_opt = g * (c / 6) ** (h["beta"] / (h["alpha"] + h["beta"]))
        for n in n_opt * np.logspace(-1.25, 1.25, 25):
            n = float(np.rint(n))
            rows.append((n, float(np.rint(c / (6 * n)))))
    return pd.DataFrame(rows, columns=["params", "tokens"])


def _kaplan_grid() -> pd.DataFrame:
    """9 model sizes x 8 dataset sizes (72 runs), as in Kaplan et al.'s L(N, D) study (their Figure 9)."""
    return _product(params=np.geomspace(1e6, 3e9, 9), tokens=np.geomspace(2e7, 2.3e10, 8))


def _tokens_grid() -> pd.DataFrame:
    return pd.DataFrame({"tokens": np.geomspace(1e8, 1e12, 36)})


def _flops_grid() -> pd.DataFrame:
    return pd.DataFrame({"flops": np.geomspace(1e17, 1e23, 36)})


def _params_grid_bnsl() -> pd.DataFrame:
    return pd.DataFrame({"params": np.geomspace(1e6, 1e11, 41)})


def _sft_grid() -> pd.DataFrame:
    # 200 .. 819,200 examples in steps of a third of a doubling, extended by one doubling.
    return pd.DataFrame({"sft_data_size": np.rint(200 * 2.0 ** (np.arange(40) / 3))})


def _vocab_grid() -> pd.DataFrame:
    """6 sizes x 8 vocabularies x 5 data sizes (240 runs; Tao et al.'s table in SLDBench has 1,200)."""
    return _product(
        non_vocab_params=np.geomspace(3.3e7, 1.13e9, 6),
        vocab_size=[4096, 6144, 8192, 16384, 24576, 32768, 65536, 96256],
        num_characters=np.geomspace(1e9, 1e11, 5),
    )


def _data_constrained_grid() -> pd.DataFrame:
    """7 sizes x 4 unique-data budgets x 7 epoch counts (196 runs; Muennighoff et al. ran some 400,
    SLDBench's table of them has 182)."""
    g = _product(
        params=[1e7, 2.5e7, 6e7, 1.5e8, 4e8, 1e9, 2.5e9],
        unique_tokens=[1e8, 4e8, 1.5e9, 6e9],
        epochs=[1, 2, 4, 8, 16, 32, 64],
    )
    g["tokens"] = g["unique_tokens"] * g["epochs"]
    return g[["params", "tokens", "unique_tokens"]]


def _moe_granularity_grid() -> pd.DataFrame:
    """6 sizes x 5 token budgets x 5 granularities (150 runs; Krajewski et al. trained more)."""
    return _product(
        params=np.geomspace(1e8, 4e9, 6),
        tokens=np.geomspace(1e10, 1.3e11, 5),
        granularity=[1, 2, 4, 8, 16],
    )


def _moe_experts_grid() -> pd.DataFrame:
    """8 dense sizes x 10 expert counts 1..512 (80 runs, about Clark et al.'s count for one routing method)."""
    return _product(params=np.geomspace(1.5e7, 1.3e9, 8), experts=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512])


def _lr_grid() -> pd.DataFrame:
    """10 sizes x 17 learning rates, half a doubling apart (170 runs; learning-rate sweeps such as DeepSeek's
    and StepLaw's run hundreds to thousands)."""
    return _product(params=np.geomspace(1e7, 1e10, 10), learning_rate=[1e-4 * 2.0**(k / 2) for k in range(-2, 15)])


def _precision_grid() -> pd.DataFrame:
    """5 sizes x 5 token budgets x 7 precisions (175 runs; Kumar et al. ran 465)."""
    return _product(params=[3e7, 1e8, 3e8, 1e9, 3e9], tokens=[1e9, 3e9, 1e10, 3e10, 1e11],
                    precision_bits=[3, 4, 5, 6, 8, 12, 16])


def _parscale_grid() -> pd.DataFrame:
    """10 sizes x 4 stream counts (40 runs; Chen et al.'s sweep has about as many per corpus)."""
    return _product(params=np.geomspace(1e8, 4.4e9, 10), streams=[1, 2, 4, 8])


# designed mixtures of three domains (as in mixture ablations): the corners, the edges' midpoints,
# the centre and six interior points; several leave a domain out entirely
_MIXTURES = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5), (0.6, 0.2, 0.2),
             (0.2, 0.6, 0.2), (0.2, 0.2, 0.6), (1 / 3, 1 / 3, 1 / 3), (0.7, 0.1, 0.2), (0.1, 0.3, 0.6))


def _mixing_grid() -> pd.DataFrame:
    """8 sizes x 12 designed mixtures (96 runs, the order of Ye et al.'s mixture sweeps)."""
    rows = [(n, *r) for n in np.geomspace(2e7, 2e9, 8) for r in _MIXTURES]
    return pd.DataFrame(rows, columns=["params", "p_web", "p_code", "p_books"])


def _params_grid_hestness() -> pd.DataFrame:
    return pd.DataFrame({"params": np.geomspace(1e6, 1e10, 37)})


def _lr_bs_grid() -> pd.DataFrame:
    """4 sizes x 4 token budgets x 6 learning rates x 5 batch sizes (480 runs; StepLaw ran 3,700).
    With the largest N*D held out and the next band validating, a 12-constant law still has 10+
    (N, D) pairs to fit on (3 x 2 left 2 after the carve)."""
    return _product(
        params=np.geomspace(6e7, 1e9, 4),
        tokens=np.geomspace(1e10, 8e10, 4),
        learning_rate=[5e-4 * 2.0**k for k in range(6)],
        batch_size=[2.0**k for k in range(17, 22)],
    )


_KAPLAN_CC_FLOPS = 3.1e8 * 8.64e19  # Kaplan et al.'s C_c = 3.1e8 PF-days, in FLOPs

_SPECS: tuple[_Spec, ...] = (
    _Spec(
        name="chinchilla",
        formula="E + A/params**alpha + B/tokens**beta",
        features=("params", "tokens"),
        constants=_HOFFMANN,
        grid=_chinchilla_grid,
        scale="params*tokens",
        citation="Hoffmann et al. 2022, arXiv:2203.15556",
        description="Chinchilla loss surface, published constants; IsoFLOP grid of 16 budgets x 25 sizes",
        params={"E": _pos("E", init=(1.5, 2.0)), "A": _pos("A", init=(100, 400)), "B": _pos("B", init=(100, 400)),
                "alpha": _exp("alpha"), "beta": _exp("beta")},
    ),
    _Spec(
        name="kaplan",
        formula="((N_c/params)**(alpha_N/alpha_D) + D_c/tokens)**alpha_D",
        features=("params", "tokens"),
        constants={"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
        grid=_kaplan_grid,
        scale="params*tokens",
        citation="Kaplan et al. 2020, arXiv:2001.08361 (eq. 1.5)",
        description="Kaplan L(N, D), published constants; 9 x 8 grid of non-embedding params x tokens",
        params={"N_c": _big("N_c", 1e6, 1e20, (1e13, 1e15)), "D_c": _big("D_c", 1e6, 1e20, (1e13, 1e15)),
                "alpha_N": _exp("alpha_N", init=(0.05, 0.1)), "alpha_D": _exp("alpha_D", init=(0.05, 0.1))},
    ),
    _Spec(
        name="data_power_floor",
        formula="E + A*tokens**(-alpha)",
        features=("tokens",),
        constants={"E": 2.0, "A": 410.7, "alpha": 0.28},
        grid=_tokens_grid,
        scale="tokens",
        citation="saturating power law (e.g. Hestness et al. 2017; Hoffmann et al. 2022 data term)",
        description="data scaling at fixed model size: Hoffmann's data term (published B, beta) with floor "
        "E = 2.0 (= 1.69 + A/N^alpha at N ~ 1.5e9); 36 token counts 1e8..1e12",
        params={"E": _pos("E", init=(1.5, 2.5)), "A": _pos("A", init=(100, 400)), "alpha": _exp("alpha")},
    ),
    _Spec(
        name="compute_power_law",
        formula="A*flops**(-alpha)",
        features=("flops",),
        constants={"A": _KAPLAN_CC_FLOPS**0.050, "alpha": 0.050},
        grid=_flops_grid,
        scale="flops",
        citation="Kaplan et al. 2020, arXiv:2001.08361 (L(C_min) = (C_c/C)^0.050, C_c = 3.1e8 PF-days)",
        description="pure power law in compute, published constants (A = C_c^alpha with C_c in FLOPs); "
        "36 budgets 1e17..1e23 FLOPs",
        params={"A": _pos("A", init=(10, 30)), "alpha": _exp("alpha", init=(0.03, 0.05, 0.1))},
    ),
    _Spec(
        name="broken_power_law",
        formula="E + A*params**(-alpha_0)*(1 + (params/d_1)**(1/f_1))**(-alpha_1*f_1)",
        features=("params",),
        constants={"E": 1.7, "A": 10.0, "alpha_0": 0.1, "alpha_1": 0.25, "d_1": 1e8, "f_1": 0.5},
        grid=_params_grid_bnsl,
        scale="params",
        citation="Caballero et al. 2022, arXiv:2210.14891 (broken neural scaling law, one break)",
        description="smoothly broken power law, one break at 1e8 params (slope 0.1 -> 0.35), illustrative "
        "constants; 41 sizes 1e6..1e11",
        params={"E": _pos("E", init=(1.5,)), "A": _pos("A", init=(10,)), "alpha_0": _exp("alpha_0"),
                "alpha_1": _exp("alpha_1"), "d_1": _big("d_1", 1e3, 1e14, (1e7, 1e9)),
                "f_1": Param("f_1", lower=0.05, upper=5.0, init=(0.3, 1.0))},
    ),
    _Spec(
        name="rectified_sft",
        formula="A/(sft_data_size**alpha + B) + C",
        features=("sft_data_size",),
        constants={"A": 100.0, "B": 20.0, "alpha": 0.45, "C": 1.9},
        grid=_sft_grid,
        scale="sft_data_size",
        citation="Lin et al. 2024, arXiv:2402.02314 (rectified scaling law for fine-tuning)",
        description="fine-tuning loss vs number of examples with a pre-learned-data offset B, illustrative "
        "constants; 40 sizes 200..1.6e6 (a third of a doubling apart)",
        params={"A": _pos("A", init=(10, 100)), "B": _pos("B", init=(1, 30)), "alpha": _exp("alpha"),
                "C": _pos("C", init=(1.5, 2.5))},
    ),
    _Spec(
        name="vocab",
        formula="A/non_vocab_params**alpha + B/vocab_size**beta + C/num_characters**gamma + E",
        features=("non_vocab_params", "vocab_size", "num_characters"),
        constants={"A": 194.0, "alpha": 0.367, "B": 8.0, "beta": 0.3, "C": 6410.0, "gamma": 0.377, "E": -6.0},
        grid=_vocab_grid,
        scale="non_vocab_params*num_characters",
        citation="Tao et al. 2024, arXiv:2407.13623 (form as used by SLDBench)",
        description="unigram-normalised loss (negative) vs non-vocab params, vocab size, characters; A, alpha, C, "
        "gamma, E near a fit to the SLDBench vocab table, B and beta illustrative; 6 x 8 x 5 grid; additive noise",
        target="unigram_normalized_loss",
        noise_kind="additive",
        params={"A": _pos("A", init=(100,)), "B": _pos("B", init=(1, 10)), "C": _pos("C", init=(1000,)),
                "alpha": _exp("alpha"), "beta": _exp("beta"), "gamma": _exp("gamma"),
                "E": Param("E", init=(-6.0, -4.0))},
    ),
    _Spec(
        name="data_constrained",
        formula="E + A/params**alpha + B/(unique_tokens*(1 + R_D*(1 - exp(-(tokens/unique_tokens - 1)/R_D))))**beta",
        features=("params", "tokens", "unique_tokens"),
        constants={"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353, "R_D": 15.4},
        grid=_data_constrained_grid,
        scale="params*tokens",
        citation="Muennighoff et al. 2023, arXiv:2305.16264 (effective data D' with repetition decay R_D*)",
        description="data-constrained law with exponentially decaying value of repeated tokens (data side "
        "only, N' = N); constants as reported by the paper, to be checked against it; 7 sizes x 4 unique-token "
        "budgets x 7 epoch counts 1..64",
        params={"E": _pos("E", init=(1.5, 2.0)), "A": _pos("A", init=(100, 500)), "B": _pos("B", init=(100, 1500)),
                "alpha": _exp("alpha"), "beta": _exp("beta"), "R_D": Param("R_D", lower=0.1, upper=1000, init=(5, 15, 50))},
    ),
    _Spec(
        name="moe_granularity",
        formula="c + (g/granularity**gamma + a)/params**alpha + b/tokens**beta",
        features=("params", "tokens", "granularity"),
        constants={"a": 18.1, "alpha": 0.115, "b": 30.8, "beta": 0.147, "g": 2.1, "gamma": 0.58, "c": 0.47},
        grid=_moe_granularity_grid,
        scale="params*tokens",
        citation="Krajewski et al. 2024, arXiv:2402.07871 (fine-grained MoE)",
        description="fine-grained MoE law in params, tokens and granularity; constants as reported by the "
        "paper, to be checked against it; 6 sizes x 5 token budgets x granularity 1..16",
        params={"a": _pos("a", init=(10,)), "b": _pos("b", init=(10,)), "g": _pos("g", init=(1,)),
                "c": _pos("c", init=(0.5,)), "alpha": _exp("alpha"), "beta": _exp("beta"), "gamma": _exp("gamma")},
    ),
    _Spec(
        name="moe_experts",
        formula="exp(d + a*log(params) + b*log(experts) + c*log(params)*log(experts))",
        features=("params", "experts"),
        constants={"d": 2.4, "a": -0.07, "b": -0.05, "c": 0.0015},
        grid=_moe_experts_grid,
        scale="params",
        citation="Clark et al. 2022, arXiv:2202.01169 (unified scaling laws for routed LMs)",
        description="log-bilinear law in dense params and expert count (expert benefit shrinks with size), "
        "illustrative constants; 8 sizes x experts 1..512",
        params={"d": Param("d", init=(2.0,)), "a": Param("a", lower=-2, upper=2, init=(-0.1,)),
                "b": Param("b", lower=-2, upper=2, init=(-0.05,)), "c": Param("c", lower=-1, upper=1, init=(0.0,))},
    ),
    _Spec(
        name="lr_bowl",
        formula="E + A/params**alpha + k*(log(learning_rate) - log(c*params**p))**2",
        features=("params", "learning_rate"),
        constants={"E": 2.1, "A": 406.4, "alpha": 0.34, "k": 0.05, "c": 0.1, "p": -0.25},
        grid=_lr_grid,
        scale="params",
        citation="quadratic-in-log(lr) bowl around a power-law optimum (e.g. DeepSeek-AI 2024, "
        "arXiv:2401.02954; Wortsman et al. 2023, arXiv:2309.14322)",
        description="learning-rate sensitivity bowl, optimum lr = 0.1 * N^-0.25 (1.8e-3 at 1e7 -> 3.2e-4 at "
        "1e10), illustrative constants; 10 sizes x 17 learning rates 5e-5..1.28e-2 (half-doublings)",
        params={"E": _pos("E", init=(2.0,)), "A": _pos("A", init=(100, 400)), "alpha": _exp("alpha"),
                "k": _pos("k", init=(0.05,)), "c": _big("c", 1e-8, 1e4, (0.01, 1.0)),
                "p": Param("p", lower=-2, upper=1, init=(-0.3, 0.0))},
    ),
    _Spec(
        name="precision",
        formula="E + A/(params*(1 - exp(-precision_bits/gamma)))**alpha + B/tokens**beta",
        features=("params", "tokens", "precision_bits"),
        constants={**_HOFFMANN, "gamma": 2.5},
        grid=_precision_grid,
        scale="params*tokens",
        citation="Kumar et al. 2024, arXiv:2411.04330 (effective parameters N(1 - exp(-P/gamma)))",
        description="precision-aware Chinchilla law, one precision (weights) P in bits; Hoffmann's published "
        "constants with illustrative gamma = 2.5; 5 sizes x 5 token budgets x 7 precisions 3..16 bits",
        params={"E": _pos("E", init=(1.5, 2.0)), "A": _pos("A", init=(100, 400)), "B": _pos("B", init=(100, 400)),
                "alpha": _exp("alpha"), "beta": _exp("beta"), "gamma": Param("gamma", lower=0.1, upper=20, init=(1, 3))},
    ),
    _Spec(
        name="parscale",
        formula="(A/(params*(k*log(streams) + 1)))**alpha + E",
        features=("params", "streams"),
        constants={"A": 2e9, "k": 0.4, "alpha": 0.2, "E": 1.0},
        grid=_parscale_grid,
        scale="params",
        citation="Chen et al. 2025, arXiv:2505.10475 (parallel scaling law, P streams)",
        description="parallel scaling: P streams act like multiplying N by (k log P + 1), illustrative "
        "constants; 10 sizes 1e8..4.4e9 x P in {1, 2, 4, 8}",
        params={"A": _big("A", 1e3, 1e15, (1e8, 1e10)), "k": _pos("k", init=(0.3,)), "alpha": _exp("alpha"),
                "E": _pos("E", init=(1.0,))},
    ),
    _Spec(
        name="data_mixing",
        formula="E + A/params**alpha + k*exp(-t_web*p_web - t_code*p_code)",
        features=("params", "p_web", "p_code", "p_books"),
        constants={"E": 1.8, "A": 406.4, "alpha": 0.34, "k": 0.6, "t_web": 1.5, "t_code": 0.8},
        grid=_mixing_grid,
        scale="params",
        citation="Ye et al. 2024, arXiv:2403.16952 (data mixing law c + k exp(sum_j t_j r_j)); Hoffmann size term",
        description="validation loss of one domain vs the shares of three training domains (the shares sum to "
        "one, so the third is left out of the exponent) plus a size term with Hoffmann's A and alpha; "
        "illustrative mixing constants; 8 sizes 2e7..2e9 x 12 designed mixtures",
        params={"E": _pos("E", init=(1.5, 2.0)), "A": _pos("A", init=(100, 400)), "alpha": _exp("alpha"),
                "k": _pos("k", init=(0.3, 1.0)), "t_web": Param("t_web", lower=-10, upper=10, init=(1.0, -1.0)),
                "t_code": Param("t_code", lower=-10, upper=10, init=(1.0, -1.0))},
    ),
    _Spec(
        name="hestness",
        formula="E + A*params**(-alpha)",
        features=("params",),
        constants={"E": 1.9, "A": 12.0, "alpha": 0.12},
        grid=_params_grid_hestness,
        scale="params",
        citation="Hestness et al. 2017, arXiv:1712.00409 (power law plus irreducible error)",
        description="model-size power law with an irreducible floor, illustrative constants; 37 sizes 1e6..1e10",
        params={"E": _pos("E", init=(1.5, 2.0)), "A": _pos("A", init=(10,)), "alpha": _exp("alpha")},
    ),
    _Spec(
        name="lr_bs_steplaw",
        formula="E + A/params**alpha + B/tokens**beta"
        " + k_lr*(log(learning_rate) - log(c_lr*params**p_N*tokens**p_D))**2"
        " + k_bs*(log(batch_size) - log(c_bs*tokens**q_D))**2",
        features=("params", "tokens", "learning_rate", "batch_size"),
        constants={**_HOFFMANN, "k_lr": 0.03, "c_lr": 1.79, "p_N": -0.713, "p_D": 0.307,
                   "k_bs": 0.015, "c_bs": 0.58, "q_D": 0.571},
        grid=_lr_bs_grid,
        scale="params*tokens",
        citation="StepLaw, Li et al. 2025, arXiv:2503.04715 (optimum exponents); Hoffmann et al. 2022 floor",
        description="Chinchilla floor plus quadratic bowl in log lr and log batch size (tokens) around the "
        "published StepLaw optima; curvatures illustrative; 4 sizes x 4 token budgets x 6 lr x 5 batch sizes",
        params={"E": _pos("E", init=(1.5, 2.0)), "A": _pos("A", init=(100, 400)), "B": _pos("B", init=(100, 400)),
                "alpha": _exp("alpha"), "beta": _exp("beta"),
                "k_lr": _pos("k_lr", init=(0.03,)), "k_bs": _pos("k_bs", init=(0.01,)),
                "c_lr": _big("c_lr", 1e-6, 1e6, (1.0,)), "c_bs": _big("c_bs", 1e-6, 1e6, (1.0,)),
                "p_N": Param("p_N", lower=-3, upper=3, init=(-0.5,)), "p_D": Param("p_D", lower=-3, upper=3, init=(0.3,)),
                "q_D": Param("q_D", lower=-3, upper=3, init=(0.5,))},
    ),
)


# ------------------------------------------------------------------- building
def names() -> list[str]:
    """Names of the synthetic tasks, in suite order."""
    return [s.name for s in _SPECS]


def _scale_law(scale: str, features: Sequence[str]) -> Law:
    return Law.from_formula(scale, list(features), name=f"scale {scale}").with_constants({})


def _truth(spec: _Spec) -> Law:
    law = Law.from_formula(
        spec.formula,
        list(spec.features),
        name=spec.name,
        params=dict(spec.params),
        provenance=f"synthetic: {spec.name}",
        citation=spec.citation,
        description=spec.description,
    )
    return law.with_constants({k: float(v) for k, v in spec.constants.items()})


def _test_mask(scale: np.ndarray, fraction: float = TEST_FRACTION) -> np.ndarray:
    """Rows with the largest scale, ~``fraction`` of them; ties stay together.

    Among the cuts between distinct scale values, the one whose test share is
    closest to ``fraction`` is taken (at least one row, at most half).
    """
    n = len(scale)
    levels, counts = np.unique(scale, return_counts=True)
    cum = np.cumsum(counts[::-1])  # rows at or above each level, from the top
    allowed = (cum >= 1) & (cum <= n / 2)
    if not allowed.any():
        allowed[0] = True
    share = np.where(allowed, np.abs(cum / n - fraction), np.inf)
    k = int(np.argmin(share))
    threshold = levels[::-1][k]
    return scale >= threshold


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def _build(spec: _Spec, seed: int, noise: float) -> SyntheticTask:
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a non-negative number, got {noise!r}")
    truth = _truth(spec)
    frame = spec.grid().reset_index(drop=True)
    features = list(spec.features)
    frame = frame[features].astype(float)
    y_true = truth.predict(frame)
    if not np.all(np.isfinite(y_true)):
        raise RuntimeError(f"synthetic task {spec.name}: the true law is not finite on its grid")
    if spec.noise_kind == "multiplicative" and not np.all(y_true > 0):
        raise RuntimeError(f"synthetic task {spec.name}: the true law is not positive on its grid")
    rng = _rng(seed, spec.name)
    eps = rng.normal(0.0, 1.0, size=len(frame))
    if spec.noise_kind == "multiplicative":
        y = y_true * np.exp(noise * eps)
        noise_scale = float(noise)
    else:
        noise_scale = float(noise * np.std(y_true))
        y = y_true + noise_scale * eps
    frame[spec.target] = y
    scale = _scale_law(spec.scale, features).predict(frame)
    frame["split"] = np.where(_test_mask(scale), "test", "train")
    return SyntheticTask(
        name=spec.name,
        truth=truth,
        frame=frame,
        features=features,
        target=spec.target,
        noise=float(noise),
        noise_kind=spec.noise_kind,
        noise_scale=noise_scale,
        scale=spec.scale,
        citation=spec.citation,
        description=spec.description,
    )


def tasks(seed: int = 0, noise: float = 0.01) -> list[SyntheticTask]:
    """The whole suite, deterministic for ``seed``; ``noise`` is the noise level (0.01 = 1 %)."""
    return [_build(spec, seed, noise) for spec in _SPECS]


def task(name: str, seed: int = 0, noise: float = 0.01) -> SyntheticTask:
    """One task of the suite by name."""
    for spec in _SPECS:
        if spec.name == name:
            return _build(spec, seed, noise)
    raise DataError(f"unknown synthetic task {name!r}; available: {', '.join(names())}")


def to_directory(path: str | os.PathLike, seed: int = 0, noise: float = 0.01) -> list[Path]:
    """Write every task as ``NAME.csv`` plus a ``NAME.json`` task file; return the task-file paths.

    The task files have the same format as the SLDBench task files
    (``table``, ``target``, ``features``, ``group``, ``split``) plus ``truth``:
    the generating expression and constants (and the noise and split scale).
    """
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create directory {out}: {err}") from None
    written = []
    for t in tasks(seed=seed, noise=noise):
        table = out / f"{t.name}.csv"
        t.frame.to_csv(table, index=False)
        task_path = out / f"{t.name}.json"
        task_path.write_text(json.dumps(t.task_file(table.name), indent=1) + "\n", encoding="utf-8")
        written.append(task_path)
    return written
