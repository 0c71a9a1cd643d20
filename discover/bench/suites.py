"""Benchmark suites: where the tasks of a benchmark come from.

A SUITE is one of

* ``real`` — the real-task suite, ``benchmarks/real`` in the repository (see its README);
* ``synthetic`` — the recovery suite of :mod:`discover.synthetic`, generated
  deterministically from a data seed at one or several noise levels; every
  task carries its true law, so recovery can be scored;
* a directory of task files — ``NAME.json`` files naming ``table`` (a CSV or
  Parquet file, relative to the JSON), ``target``, ``features``, ``group``
  and ``split`` (the SLDBench task format, also written by
  :func:`discover.synthetic.to_directory`, whose ``truth`` entry is read too);
  a file whose ``target`` is a list gives one task per target;
* one task JSON file.

Every task is loaded into memory (tables of training runs are small), so a
cell can be shipped whole to a local worker process or a Dask worker on
another machine, and hashed by content: a benchmark's cells are keyed by that
hash, so editing a table re-runs its cells and renaming nothing does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..data import group_parts, read_table
from ..errors import DataError
from ..law import Law
from ..targets import one_table
from . import synthetic
from .tables import prepare_rows

SYNTHETIC = "synthetic"
REAL = "real"
#: The real-task suite: task files in the repository over the public tables in ../shared/data.
REAL_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "real"


@dataclass
class Task:
    """One table of runs to benchmark on, with its target, features and split rule."""

    name: str
    frame: pd.DataFrame
    target: str
    features: list[str]
    group: str | None = None
    split: str | None = None
    truth: Law | None = None
    source: str = ""
    meta: dict = field(default_factory=dict)
    #: a curve table's columns and options (run, step, lr, min_step, momentum), passed to the pipeline
    curve: dict | None = None

    def curve_options(self) -> dict:
        """The keyword arguments that make the pipeline read the table as curves (none otherwise)."""
        if not self.curve:
            return {}
        return {("curve" if k == "run" else k): v for k, v in self.curve.items()}

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def spec(self) -> dict:
        """The task file's content (without the table), plus the truth when known."""
        out = {"target": self.target, "features": list(self.features), "group": self.group, "split": self.split}
        if self.curve:
            out["curve"] = dict(self.curve)
        if self.truth is not None:
            out["truth"] = {"expression": self.truth.formula,
                            "constants": {k: float(v) for k, v in sorted((self.truth.constants or {}).items())}}
        return out

    def content_hash(self) -> str:
        """sha256 of the task spec and the whole table (columns and values), hex."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            h = hashlib.sha256()
            h.update(json.dumps(self.spec(), sort_keys=True).encode())
            h.update(b"\0" + "\x1f".join(map(str, self.frame.columns)).encode() + b"\0")
            h.update(pd.util.hash_pandas_object(self.frame, index=False).to_numpy().tobytes())
            cached = self.__dict__["_hash"] = h.hexdigest()
        return cached

    def __getstate__(self) -> dict:
        # A Law caches its lambdified function, which cannot be pickled: ship a fresh copy to workers.
        state = dict(self.__dict__)
        if self.truth is not None:
            state["truth"] = dataclasses.replace(self.truth)
        return state

    def __repr__(self) -> str:
        truth = ", truth" if self.truth is not None else ""
        return f"Task({self.name!r}, {self.n_rows} rows, {self.target} ~ {', '.join(self.features)}{truth})"


def load_suite(suite, *, noise: Sequence[float] = (0.01,), data_seed: int = 0,
               only: Sequence[str] | None = None) -> list[Task]:
    """The tasks of SUITE (``"synthetic"``, a directory of task files or one task file).

    ``noise`` and ``data_seed`` apply to the synthetic suite only; ``only``
    keeps the tasks with these names (for the synthetic suite the bare
    names, e.g. ``chinchilla``, match every noise level).
    """
    text = str(suite)
    if text == REAL and not Path(text).exists():
        if not REAL_DIR.is_dir():
            raise DataError(f"the real-task suite lives in a checkout of discover ({REAL_DIR} is missing)")
        text = str(REAL_DIR)
    if text == SYNTHETIC:
        tasks = synthetic_tasks(noise=noise, seed=data_seed)
    else:
        path = Path(text)
        if not path.exists():
            raise DataError(f"suite {text!r} is neither 'synthetic' nor an existing directory or task JSON file")
        if path.is_dir():
            tasks = directory_tasks(path)
        elif path.suffix.lower() == ".json":
            tasks = tasks_from_file(path)
        else:
            raise DataError(f"suite {text!r} is a file but not a task JSON file (NAME.json naming table, target, "
                            "features, group, split)")
    if only:
        wanted = list(dict.fromkeys(only))
        known = {t.name for t in tasks} | {t.meta.get("base", t.name) for t in tasks}
        missing = [w for w in wanted if w not in known]
        if missing:
            raise DataError(f"suite {text!r} has no task named {missing[0]!r} "
                            f"(have: {', '.join(sorted(known)[:20])})")
        tasks = [t for t in tasks if t.name in wanted or t.meta.get("base") in wanted]
    return tasks


def suite_label(suite) -> str:
    """A short name for SUITE, used for the default output directory."""
    text = str(suite)
    if text == SYNTHETIC:
        return SYNTHETIC
    path = Path(text)
    return (path.resolve().name if path.is_dir() else path.stem) or "suite"


# -------------------------------------------------------------------- synthetic
def synthetic_tasks(*, noise: Sequence[float] = (0.01,), seed: int = 0) -> list[Task]:
    levels = _noise_levels(noise)
    out = []
    for level in levels:
        for t in synthetic.tasks(seed=seed, noise=level):
            out.append(Task(
                name=f"{t.name}@{level:g}",
                frame=t.frame,
                target=t.target,
                features=list(t.features),
                group=None,
                split="column:split",
                truth=t.truth,
                source=f"synthetic seed={seed} noise={level:g}",
                meta={"base": t.name, "noise": float(level), "data_seed": int(seed), "citation": t.citation},
            ))
    return out


def _noise_levels(noise) -> list[float]:
    if isinstance(noise, (int, float)):
        noise = [noise]
    levels = []
    for x in noise:
        try:
            v = float(x)
        except (TypeError, ValueError):
            raise DataError(f"noise level {x!r} is not a number") from None
        if not (math.isfinite(v) and v >= 0):
            raise DataError(f"noise level must be a non-negative number, got {x!r}")
        levels.append(v)
    if not levels:
        raise DataError("no noise level given; use e.g. --noise 0.01")
    return list(dict.fromkeys(levels))


# -------------------------------------------------------------- task files
def directory_tasks(path: Path) -> list[Task]:
    """Every task JSON in a directory (JSON files without ``table`` and ``target`` are not task files)."""
    tasks = []
    for p in sorted(path.glob("*.json")):
        doc = _read_json(p)
        if isinstance(doc, dict) and "table" in doc and "target" in doc:
            tasks.extend(tasks_from_doc(doc, p))
    if not tasks:
        raise DataError(f"suite directory {str(path)!r} has no task files (NAME.json naming table, target, features)")
    names = [t.name for t in tasks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"suite directory {str(path)!r} has two tasks named {dup[0]!r}")
    return tasks


def task_from_file(path) -> Task:
    """The task of a task file that names one target."""
    tasks = tasks_from_file(path)
    if len(tasks) > 1:
        raise DataError(f"task file {Path(path).name} names {len(tasks)} targets; read it with tasks_from_file")
    return tasks[0]


def tasks_from_file(path) -> list[Task]:
    """The tasks of a task file: one, or one per target when it names several."""
    path = Path(path)
    doc = _read_json(path)
    if not isinstance(doc, dict) or "table" not in doc or "target" not in doc:
        raise DataError(f"task file {path.name} must be a JSON object with 'table', 'target' and 'features'")
    return tasks_from_doc(doc, path)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read task file {path.name}: {err}") from None
    except json.JSONDecodeError as err:
        raise DataError(f"task file {path.name} is not valid JSON: {err}") from None


def tasks_from_doc(doc: dict, path: Path) -> list[Task]:
    """The tasks of a task-file dictionary. ``"target": ["loss_a", "loss_b"]`` names several
    targets of one table (domain losses of the same runs): one task per target, called
    ``NAME:TARGET``, on the rows that have a value of it, without the other targets' columns."""
    targets = doc.get("target")
    if not isinstance(targets, list):
        return [task_from_doc(doc, path)]
    where = f"task file {path.name}"
    if not targets or not all(isinstance(t, str) and t for t in targets) or len(set(targets)) < len(targets):
        raise DataError(f"{where}: 'target' must be a column name or a list of distinct column names")
    if doc.get("truth") is not None:
        raise DataError(f"{where}: a 'truth' law needs a single target")
    base = _task_name(doc, path)
    return [task_from_doc({**doc, "target": t, "name": f"{base}:{t}"}, path, others=targets, base=base)
            for t in targets]


def task_from_doc(doc: dict, path: Path, *, others: Sequence[str] = (), base: str | None = None) -> Task:
    """A task from a task-file dictionary; ``table`` is relative to the file's directory.
    ``others`` are the file's other targets, left out of this task's table."""
    where = f"task file {path.name}"
    table = doc.get("table")
    if not isinstance(table, str) or not table.strip():
        raise DataError(f"{where}: 'table' must be a file name")
    target = doc.get("target")
    if not isinstance(target, str) or not target:
        raise DataError(f"{where}: 'target' must be a column name")
    features = doc.get("features")
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise DataError(f"{where}: 'features' must be a non-empty list of column names")
    group = doc.get("group")
    if isinstance(group, list) and group and all(isinstance(g, str) for g in group):
        group = ",".join(group)  # a group named by several columns
    if group is not None and not isinstance(group, str):
        raise DataError(f"{where}: 'group' must be a column name, a list of them, or null")
    split = doc.get("split")
    if split is not None and not isinstance(split, str):
        raise DataError(f"{where}: 'split' must be a split rule such as column:split, or null")
    table_path = (path.parent / table) if not Path(table).is_absolute() else Path(table)
    if not table_path.exists():
        raise DataError(f"{where}: table {table!r} does not exist (looked for {table_path})")
    frame, _ = read_table(table_path)
    prepared = {}
    if doc.get("rows") is not None:
        used = [target, *features, *group_parts(group, frame.columns), *_split_columns(split)]
        frame, prepared = prepare_rows(frame, doc["rows"], used, where)
    missing = [c for c in [target, *features, *group_parts(group, frame.columns)] if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: table {table_path.name} has no column {missing[0]!r}")
    if others:
        absent = [t for t in others if t not in frame.columns]
        if absent:
            raise DataError(f"{where}: table {table_path.name} has no column {absent[0]!r}")
        frame, _ = one_table(frame, target, others)
        if not len(frame):
            raise DataError(f"{where}: target {target!r} has no values")
    truth = _truth(doc.get("truth"), features, where)
    name = _task_name(doc, path)
    meta = {"base": base or name, **prepared}
    for key in ("why", "half"):
        if isinstance(doc.get(key), str):
            meta[key] = doc[key]
    if isinstance(doc.get("truth"), dict) and isinstance(doc["truth"].get("noise"), dict):
        sigma = doc["truth"]["noise"].get("sigma")
        if isinstance(sigma, (int, float)):
            meta["noise"] = float(sigma)
    return Task(name=name, frame=frame, target=target, features=list(features), group=group, split=split,
                truth=truth, source=str(path), meta=meta, curve=_curve(doc.get("curve"), frame, where))


#: what a task file's ``curve`` may say: the pipeline's curve settings (``discover run --curve ...``)
CURVE_KEYS = {"run": str, "step": str, "lr": str, "min_step": (int, float), "momentum": (int, float)}


def _curve(entry, frame, where) -> dict | None:
    """A task file's ``"curve": {"run": ..., "step": ..., "lr": ..., "min_step": ...}``, checked."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("run"), str) or not isinstance(entry.get("step"), str):
        raise DataError(f"{where}: 'curve' must name at least its 'run' and 'step' columns")
    for key, value in entry.items():
        kind = CURVE_KEYS.get(key)
        if kind is None or isinstance(value, bool) or not isinstance(value, kind):
            raise DataError(f"{where}: curve setting {key!r} is unknown or has the wrong type")
        if kind is str and value not in frame.columns:
            raise DataError(f"{where}: curve column {value!r} is not in the table")
    return dict(entry)


def _split_columns(split) -> list[str]:
    """The column a ``column:COL`` or ``largest:COL:FRAC`` split reads."""
    if isinstance(split, str) and split.startswith("column:"):
        return [split.split(":", 1)[1] or "split"]
    if isinstance(split, str) and split.startswith("largest:"):
        return [split[len("largest:"):].rpartition(":")[0]]
    return []


def _task_name(doc: dict, path: Path) -> str:
    """The task file's ``name``, or the file's stem."""
    name = doc.get("name")
    return name if isinstance(name, str) and name else path.stem


def _truth(entry, features, where) -> Law | None:
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("expression"), str):
        raise DataError(f"{where}: 'truth' must have an 'expression' string and 'constants'")
    constants = entry.get("constants") or {}
    if not isinstance(constants, dict) or not all(isinstance(v, (int, float)) for v in constants.values()):
        raise DataError(f"{where}: truth 'constants' must map names to numbers")
    law = Law.from_formula(entry["expression"], list(features), name="truth", provenance="truth")
    missing = set(law.params) - set(constants)
    if missing:
        raise DataError(f"{where}: truth has no value for constant {sorted(missing)[0]!r}")
    return law.with_constants({k: float(constants[k]) for k in law.params})
