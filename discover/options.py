"""The settings of a run, as three validated objects: the table, the fit, the search.

Why objects: the same settings reach the pipeline from the Python API, the
CLI, :class:`~discover.estimator.LawRegressor`, task files and a checkpoint
being resumed. Each is checked here once, in ``__post_init__``, with a one-line
:class:`~discover.errors.DataError` naming the setting, and serialised here
once (``to_dict``/``from_dict``) for the checkpoint.

- :class:`TableSpec`: which columns are what (target, features, group, weight,
  derived columns) and how the rows are split (rule, validation fraction);
- :class:`FitOptions`: how every law is fitted and chosen (seed, Huber delta,
  bootstrap resamples, constants shared across groups, selection tolerance);
- :class:`SearchOptions`: which engines search, for how long (time budget, a
  form count for reproducible searches), with which engine options, and
  whether the catalog laws compete.

``discover.fit(...)`` and ``discover.discover(...)`` keep their keyword
arguments as the friendly surface; they build these objects.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from .engines.base import engine_names
from .errors import DataError
from .schedule import DEFAULT_MOMENTUM
from .workers import local_cores

DEFAULT_VAL_FRAC = 0.15


class SettingError(DataError):
    """A setting with a bad value: ``field`` names it, so that a shell can say it its own way
    (the CLI names its flag: ``--bootstrap must be >= 0``)."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field} {problem}")

    def named(self, name: str) -> str:
        return f"{name} {self.problem}"


def _names(value, field: str) -> tuple[str, ...]:
    """A tuple of names from a comma-separated string or a sequence of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    try:
        items = tuple(value)
    except TypeError:
        raise SettingError(field, f"must be a name or a list of names, got {type(value).__name__}") from None
    for v in items:
        if not isinstance(v, str) or not v.strip():
            raise SettingError(field, f"must be names (non-empty strings), got {v!r}")
    return tuple(v.strip() for v in items)


def _int(value, field: str, lowest: int) -> int:
    if isinstance(value, bool) or not (isinstance(value, numbers.Integral)
                                       or isinstance(value, float) and value.is_integer()):
        raise SettingError(field, f"must be a whole number, got {value!r}")
    value = int(value)
    if value < lowest:
        raise SettingError(field, f"must be >= {lowest}, got {value}")
    return value


def _float(value, field: str, *, above: float | None = None, below: float | None = None) -> float:
    """A finite number, strictly between ``above`` and ``below`` when given."""
    if isinstance(value, bool):
        raise SettingError(field, f"must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise SettingError(field, f"must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise SettingError(field, f"must be finite, got {value!r}")
    if above is not None and below is not None and not above < out < below:
        raise SettingError(field, f"must be between {above:g} and {below:g}, got {value!r}")
    if above is not None and below is None and not out > above:
        raise SettingError(field, f"must be > {above:g}, got {value!r}")
    return out


class Settings:
    """What the three settings objects share: a JSON-safe form and its reading back."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        if not isinstance(data, Mapping):
            raise DataError(f"{cls.__name__} settings must be an object, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise DataError(f"{cls.__name__} settings have unknown fields {unknown}")
        return cls(**dict(data))


@dataclass(frozen=True)
class TableSpec(Settings):
    """Which columns of the table are what, and how its rows are split."""

    target: str
    features: tuple[str, ...]
    group: str | tuple[str, ...] | None = None
    weight: str | None = None
    derive: Mapping[str, str] = field(default_factory=dict)
    split: str | None = None
    val_frac: float = DEFAULT_VAL_FRAC
    name: str | None = None
    direction: str | None = None  # "minimize" (a loss) or "maximize" (an accuracy); None: from the target's name
    # a curve table (rows are evaluations of runs): the run column, the step column, the learning-rate
    # column (its schedule features join the features), the momentum of the annealing area, and the
    # first step fitted (earlier rows only feed the schedule features)
    curve: str | None = None
    step: str | None = None
    lr: str | None = None
    momentum: float = DEFAULT_MOMENTUM
    min_step: float | None = None

    def __post_init__(self):
        self._check_curve()
        if self.direction not in (None, "minimize", "maximize"):
            raise SettingError("direction", f"must be 'minimize' or 'maximize', got {self.direction!r}")
        if not isinstance(self.target, str) or not self.target:
            raise DataError("no target given; name the target column")
        feats = _names(self.features, "features")
        if not feats:
            raise DataError("no features given; name at least one feature column")
        object.__setattr__(self, "features", feats)
        if self.group is not None and not isinstance(self.group, str):
            object.__setattr__(self, "group", _names(self.group, "group"))
        if self.weight is not None and (not isinstance(self.weight, str) or not self.weight):
            raise SettingError("weight", f"must name a column, got {self.weight!r}")
        derive = dict(self.derive or {})
        for k, v in derive.items():
            if not isinstance(k, str) or not k.strip():
                raise DataError(f"a derived column needs a name, got {k!r}")
            if not isinstance(v, str) or not v.strip():
                raise DataError(f"derived column {k!r} needs a formula, got {v!r}")
        object.__setattr__(self, "derive", derive)
        if self.split is not None and not isinstance(self.split, str):
            raise SettingError("split", f"must be a rule such as 'compute:0.2', got {self.split!r}")
        object.__setattr__(self, "val_frac", _float(self.val_frac, "val_frac", above=0.0, below=1.0))

    def _check_curve(self):
        for name in ("curve", "step", "lr"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SettingError(name, f"must name a column, got {value!r}")
        if self.curve is None and (self.step is not None or self.lr is not None or self.min_step is not None):
            raise SettingError("curve", "must name the run column when step, lr or min_step is given (a curve table)")
        if self.curve is not None and self.step is None:
            raise SettingError("step", "must name the step column of a curve table")
        object.__setattr__(self, "momentum", _float(self.momentum, "momentum", above=0.0, below=1.0))
        if self.min_step is not None:
            object.__setattr__(self, "min_step", _float(self.min_step, "min_step"))


def curve_settings(dataset: Mapping) -> dict:
    """The curve settings of a TableSpec from a results.json ``dataset`` record (none for a table of
    final results), so that a report or a forecast derives the same schedule features."""
    curve = dataset.get("curve") if isinstance(dataset, Mapping) else None
    if not isinstance(curve, Mapping):
        return {}
    return {"curve": curve.get("run"), "step": curve.get("step"), "lr": curve.get("lr"),
            "momentum": curve.get("momentum", DEFAULT_MOMENTUM), "min_step": curve.get("min_step")}


@dataclass(frozen=True)
class FitOptions(Settings):
    """How every law is fitted, and chosen: the same for published and discovered laws."""

    seed: int = 0
    delta: float | None = None
    bootstrap: int = 100
    shared: tuple[str, ...] = ()
    tolerance: float = 0.02

    def __post_init__(self):
        object.__setattr__(self, "seed", _int(self.seed, "seed", -2**63))
        if self.delta is not None:
            object.__setattr__(self, "delta", _float(self.delta, "delta", above=0.0))
        object.__setattr__(self, "bootstrap", _int(self.bootstrap, "bootstrap", 0))
        object.__setattr__(self, "shared", _names(self.shared, "shared"))
        tol = _float(self.tolerance, "tolerance")
        if tol < 0:
            raise SettingError("tolerance", f"must be >= 0, got {self.tolerance!r}")
        object.__setattr__(self, "tolerance", tol)


@dataclass(frozen=True)
class SearchOptions(Settings):
    """Which engines search, for how long, whether the catalog laws compete, and how many constants a
    candidate may have (``max_constants``: every candidate, per group for a grouped law)."""

    engines: tuple[str, ...] = ("grammar",)
    time_budget: float = 300.0
    max_forms: int | None = None
    engine_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    catalog: bool = True
    max_constants: int | None = None
    workers: int | None = None  # processes fitting the grammar's forms and scoring laws; None: every local core
    dask_scheduler: str | None = None  # a dask.distributed scheduler's address: its workers fit the forms

    def __post_init__(self):
        if self.workers is not None:
            object.__setattr__(self, "workers", _int(self.workers, "workers", 1))
        if self.dask_scheduler is not None and (not isinstance(self.dask_scheduler, str) or not self.dask_scheduler.strip()):
            raise SettingError("dask_scheduler", f"must be a scheduler address such as tcp://host:8786, got "
                                                 f"{self.dask_scheduler!r}")
        engines = _names(self.engines, "engines")
        if not engines:
            raise DataError("no engine chosen; use e.g. engines=['grammar']")
        known = engine_names()
        for e in engines:
            if e.lower() not in known:
                raise SettingError("engines", f"names an unknown engine {e!r} (available: {', '.join(known)})")
        object.__setattr__(self, "engines", engines)
        object.__setattr__(self, "time_budget", _float(self.time_budget, "time_budget", above=0.0))
        if self.max_forms is not None:
            object.__setattr__(self, "max_forms", _int(self.max_forms, "max_forms", 1))
            if "grammar" not in [e.lower() for e in engines]:
                raise SettingError("max_forms", "bounds the grammar engine; add grammar to the engines")
        opts = {}
        for name, value in dict(self.engine_options or {}).items():
            if name not in engines:
                raise DataError(f"engine_options name engine {name!r}, which is not among the engines {list(engines)}")
            if not isinstance(value, Mapping):
                raise DataError(f"engine_options for {name!r} must be a mapping of option names to values")
            opts[name] = dict(value)
        object.__setattr__(self, "engine_options", opts)
        if not isinstance(self.catalog, bool):
            raise SettingError("catalog", f"must be True or False, got {self.catalog!r}")
        if self.max_constants is not None:
            object.__setattr__(self, "max_constants", _int(self.max_constants, "max_constants", 1))

    @property
    def n_workers(self) -> int:
        """Processes that fit forms and score laws: as asked, or every local core."""
        return self.workers if self.workers is not None else local_cores()

    def options_for(self, engine: str) -> dict:
        """The options an engine is built with (``max_forms`` and ``workers`` go to the grammar engine)."""
        out = dict(self.engine_options.get(engine, {}))
        if engine.lower() == "grammar":
            if self.max_forms is not None:
                out.setdefault("max_forms", self.max_forms)
            out.setdefault("workers", self.n_workers)
        return out
