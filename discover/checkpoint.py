"""What a search keeps on disk so that Ctrl-C, SIGTERM or a crash loses no work.

A long search has four phases: the catalog laws are scored (which measures what
a law costs, for the time budget's plan), engines propose candidates, their
candidates are refit and scored, the best few get bootstrap intervals. Each finished piece
(an engine's proposals, a scored law, a bootstrapped law) is written to
``checkpoint.json`` in the output directory, atomically, as soon as it exists.
``discover run --resume DIR`` (or :func:`discover.resume`) reads it back and
does only what is missing: finished engines are not rerun, an interrupted
engine gets the budget it had left, scored laws are not refit.

The checkpoint is plain JSON read with the safe formula parser (no pickle), so
a checkpoint file from elsewhere cannot run code. It is tied to its table by
the table's content hash and to its settings, so it cannot be resumed against
different data.

Signals: the first SIGINT/SIGTERM asks the search to stop at the next safe
point (engines return what they have, scoring stops after the current law) so
that best-so-far results are written; a second one quits at once.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from .candidate import Candidate
from .errors import DataError
from .law import Law
from .result import Scored, read_json, write_json_atomic

CHECKPOINT_NAME = "checkpoint.json"
CHECKPOINT_SCHEMA = "2"
SAVE_EVERY_S = 2.0  # throttle for the scoring loop; phase ends always save


class StopFlag:
    """Set by a signal (or by the caller) to ask a running search to wrap up."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str = "stopped") -> None:
        self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __bool__(self) -> bool:
        return self.is_set()


@contextlib.contextmanager
def stop_on_signals(flag: StopFlag, on_first=None):
    """Route SIGINT and SIGTERM to ``flag`` while the block runs; a second signal raises KeyboardInterrupt.

    Signal handlers can only be installed from the main thread; elsewhere
    (a worker thread, a Dask task) the block runs with the handlers it has.
    """
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, _frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set(signal.Signals(signum).name)
        if on_first is not None:
            on_first(flag.reason)

    sigs = [signal.SIGINT, signal.SIGTERM]
    old = {}
    try:
        for s in sigs:
            old[s] = signal.signal(s, handler)
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def law_key(law: Law) -> str:
    """Identity of a candidate across a resume: its name and its formula."""
    return f"{law.name}\x1f{law.formula}"


class Checkpoint:
    """The on-disk state of one search (see the module docstring)."""

    def __init__(self, path: Path, settings: Mapping[str, Any], dataset_hash: str):
        self.path = path
        self.settings = dict(settings)
        self.dataset_hash = dataset_hash
        self.engines: dict[str, dict] = {}
        self.scored: dict[str, dict] = {}
        self.boot: dict[str, dict] = {}
        self.phase = "catalog"  # the catalog is scored first, then the engines search
        self._last_save = 0.0

    # ------------------------------------------------------------ engines
    def engine_done(self, name: str) -> bool:
        return self.engines.get(name, {}).get("status") == "done"

    def engine_candidates(self, name: str) -> list[Candidate]:
        """An engine's proposals as recorded, with the starting points their refits use."""
        out = []
        for item in self.engines.get(name, {}).get("laws", []):
            start = item.get("start")
            out.append(Candidate(Law.from_dict(item["law"]),
                                 start={k: float(v) for k, v in start.items()} if start else None,
                                 group_starts=_group_constants(item.get("start_groups")),
                                 group_starts_backtest=_group_constants(item.get("start_groups_backtest"))))
        return out

    def engine_wall(self, name: str) -> float:
        return float(self.engines.get(name, {}).get("wall_s", 0.0))

    def engine_budget(self, name: str) -> float | None:
        """The seconds the run planned for an engine when it started (None if it never did)."""
        budget = self.engines.get(name, {}).get("info", {}).get("budget_s")
        return float(budget) if budget else None

    def record_engine(self, name: str, candidates, *, wall_s: float, interrupted: bool, info: Mapping) -> None:
        items = []
        for c in candidates:
            items.append({"law": c.law.to_dict(), "start": dict(c.start or {}) or None,
                          "start_groups": c.group_starts, "start_groups_backtest": c.group_starts_backtest})
        self.engines[name] = {"status": "interrupted" if interrupted else "done", "wall_s": round(wall_s, 3),
                              "info": dict(info), "laws": items}
        self.save(force=True)

    # ------------------------------------------------------------ scoring
    def get_scored(self, law: Law, boot: bool = False) -> Scored | None:
        d = (self.boot if boot else self.scored).get(law_key(law))
        return None if d is None else Scored.from_dict(d)

    def record_scored(self, law: Law, scored: Scored, boot: bool = False) -> None:
        (self.boot if boot else self.scored)[law_key(law)] = scored.to_dict(residuals=True)
        self.save()

    # ------------------------------------------------------------ disk
    def enter(self, phase: str) -> None:
        """Mark the run's phase (catalog, search, score, bootstrap, done, interrupted) and save."""
        self.phase = phase
        self.save(force=True)

    def to_dict(self) -> dict:
        return {"checkpoint_schema": CHECKPOINT_SCHEMA, "dataset_hash": self.dataset_hash, "phase": self.phase,
                "settings": self.settings, "engines": self.engines, "scored": self.scored, "bootstrap": self.boot,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_save < SAVE_EVERY_S:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path, self.to_dict())
        self._last_save = now

    @classmethod
    def load(cls, path) -> "Checkpoint":
        path = checkpoint_path(path)
        if not path.exists():
            raise DataError(f"no checkpoint to resume at {str(path)!r}")
        data = read_json(path, f"checkpoint {str(path)!r}")
        if not isinstance(data, dict) or str(data.get("checkpoint_schema")) != CHECKPOINT_SCHEMA:
            raise DataError(f"{str(path)!r} is not a discover checkpoint (schema {CHECKPOINT_SCHEMA})")
        ck = cls(path, data.get("settings") or {}, str(data.get("dataset_hash", "")))
        ck.phase = str(data.get("phase", "search"))
        for field_name, attr in (("engines", "engines"), ("scored", "scored"), ("bootstrap", "boot")):
            value = data.get(field_name) or {}
            if not isinstance(value, dict):
                raise DataError(f"checkpoint {str(path)!r}: field {field_name!r} is not an object")
            setattr(ck, attr, value)
        return ck

    def check_matches(self, settings: Mapping[str, Any], dataset_hash: str) -> None:
        """Refuse to resume against another table or other settings."""
        if dataset_hash != self.dataset_hash:
            raise DataError(f"the table changed since the checkpoint in {str(self.path.parent)!r} was written "
                            f"(hash {dataset_hash[:12]} vs {self.dataset_hash[:12]}); start a new run instead")
        now, then = _flat(settings), _flat(self.settings)
        differ = sorted(k for k in set(now) | set(then) if k != "data" and plain(now.get(k)) != plain(then.get(k)))
        if differ:
            raise DataError(f"the checkpoint in {str(self.path.parent)!r} was written with other settings "
                            f"({', '.join(differ)}); start a new run or resume without changing them")


def _flat(settings: Mapping[str, Any]) -> dict:
    """Settings one level flatter: ``{"fit": {"seed": 0}}`` -> ``{"fit.seed": 0}``, so a refusal
    names the setting that changed."""
    out = {}
    for k, v in settings.items():
        if isinstance(v, Mapping):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def _group_constants(data) -> dict | None:
    if not data:
        return None
    return {str(g): {k: float(v) for k, v in d.items()} for g, d in data.items()}


def checkpoint_path(where) -> Path:
    where = Path(where)
    return where if where.suffix == ".json" else where / CHECKPOINT_NAME


def plain(value):
    """JSON round trip, so tuples and lists (and int/float) compare as they are stored."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
