"""One run at a time in an output directory.

Why: two runs writing into one ``--out`` would leave results.json from one and
the reports from the other. A run holds ``DIR/.discover.lock`` (created
exclusively, holding its host and process id) from its start to its last file;
a second run into the same directory stops at once with one line. A lock left
by a process that no longer exists (killed with SIGKILL) is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

from .errors import DataError

LOCK_NAME = ".discover.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def locked(directory: Path | None):
    """Hold the output directory's lock for the block (no lock for ``None``: nothing is written)."""
    if directory is None:
        yield
        return
    directory = Path(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    me = {"host": socket.gethostname(), "pid": os.getpid()}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                other = json.loads(path.read_text())
            except (OSError, ValueError):
                other = {}
            same_host = other.get("host") == me["host"]
            if same_host and isinstance(other.get("pid"), int) and not _alive(other["pid"]):
                path.unlink(missing_ok=True)  # left by a process that is gone: take it over
                continue
            raise DataError(f"{directory} is being written by another discover run (pid {other.get('pid', '?')} "
                            f"on {other.get('host', '?')}); wait for it, or choose another --out") from None
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        if created and not any(directory.iterdir()):
            directory.rmdir()  # a run that wrote nothing (bad input) leaves nothing behind
