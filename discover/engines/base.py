"""The engine protocol: what an engine is given and what it must return.

Why a task object rather than a table: an engine must never see test rows, so
it is handed only the train and validation blocks, already split, as arrays
keyed by the features' formula identifiers.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from ..errors import DataError
from ..candidate import Candidate
from ..law import Law


@dataclass
class EngineTask:
    """Everything an engine may use: train/val blocks, names, budget, seed."""

    X_train: dict
    y_train: np.ndarray
    X_val: dict
    y_val: np.ndarray
    features: list[str]  # formula identifiers of the features, in table order
    target: str
    groups_train: np.ndarray | None = None
    groups_val: np.ndarray | None = None
    log_space: bool = True
    time_budget: float = 60.0
    seed: int = 0
    backtest: tuple | None = None  # (fit, eval) positions within the train arrays: a second extrapolation fold
    known_laws: Sequence[Law] = ()  # catalog laws bound to these features (seeds, guesses)
    progress: Callable | None = None
    deadline: float = field(default=0.0)
    options: dict = field(default_factory=dict)
    stop: object = None  # a StopFlag: once set (Ctrl-C, SIGTERM), time is up and the engine returns what it has
    max_constants: int | None = None  # no candidate may have more constants (per group, for a grouped law)

    def __post_init__(self):
        if not self.deadline:
            self.deadline = time.monotonic() + float(self.time_budget)

    @property
    def time_left(self) -> float:
        if self.stop is not None and self.stop.is_set():
            return 0.0
        return self.deadline - time.monotonic()

    @property
    def grouped(self) -> bool:
        return self.groups_train is not None


class Engine(Protocol):
    name: str

    def available(self) -> tuple[bool, str]:
        """(True, "") when the engine can run here, else (False, one sentence saying why and how to fix)."""

    def version(self) -> str: ...

    def propose(self, task: EngineTask) -> list[Candidate]:
        """Candidate laws in the task's feature identifiers, with the engine's constants as starts."""


_ENGINES = {
    "grammar": "discover.engines.grammar:GrammarEngine",
    "operon": "discover.engines.operon:OperonEngine",
    "pysr": "discover.engines.pysr:PySREngine",
}


def engine_names() -> list[str]:
    return list(_ENGINES)


def get_engine(name: str, **options) -> Engine:
    name = name.strip().lower()
    if name not in _ENGINES:
        raise DataError(f"unknown engine {name!r} (available: {', '.join(_ENGINES)})")
    module, _, cls = _ENGINES[name].partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        raise DataError(f"engine {name!r} could not be loaded: {err}") from None
    return getattr(mod, cls)(**options)
