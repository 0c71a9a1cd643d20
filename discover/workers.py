"""Independent pieces of one run (a form's fit, a law's scoring) on several cores or a Dask cluster.

A run stays in one process -- its search, its clock, its ranking -- and sends out
only the work that costs: ``Workers(context).map(fn, items)`` calls
``fn(context, item)`` for every item and gives the results back in the order of
``items``, so what a run keeps does not depend on how many workers computed it.

Local workers are processes (forked where the platform can, so that they start
with the run's arrays already in memory; each holds one copy of ``context``
from its initializer). On a Dask cluster (``client``, a
``distributed.Client``) the context is scattered to every worker once and each
item is a task; a worker that dies has its tasks rerun elsewhere by the
scheduler. When local workers die, :class:`WorkersFailed` says so and the
caller carries on in its own process. :func:`local_workers` and
:func:`cluster_client` hold a run's pool and its cluster connection for as long
as the run lasts.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from .errors import DataError

_CONTEXT: Any = None  # a worker process's copy of the run's context
CONNECT_TIMEOUT_S = 10  # how long a run waits for a Dask scheduler before saying it cannot reach it


class WorkersFailed(RuntimeError):
    """The workers could not do a batch (a worker process died, the cluster went away)."""


def local_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init(context) -> None:
    global _CONTEXT
    _CONTEXT = context
    _die_with_parent()


def _die_with_parent() -> None:
    """On Linux, ask the kernel to end this worker when the run that forked it dies (a run killed
    with SIGKILL cannot shut its pool down, and its idle workers would otherwise stay forever)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown is all there is
        pass


PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _call(job):
    fn, item = job
    return fn(_CONTEXT, item)


class Workers:
    """``workers`` local processes, or the workers of a Dask ``client``, each holding ``context``."""

    def __init__(self, context, *, workers: int = 1, client=None):
        self.client, self.pool = client, None
        self.futures: list = []  # the local items sent out, to know at close whether one is still running
        if client is not None:
            try:
                self.context = client.scatter(context, broadcast=True)
                self.size = max(1, len(client.scheduler_info().get("workers", {})))
            except Exception as err:  # noqa: BLE001 - any cluster failure ends the pool, not the run
                raise WorkersFailed(f"cannot send the run's data to the cluster: {err}") from err
            return
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init, initargs=(context,))

    def map(self, fn: Callable[[Any, Any], Any], items: Sequence) -> list:
        """``[fn(context, item) for item in items]``, computed by the workers."""
        return list(self.imap(fn, items))

    def imap(self, fn: Callable[[Any, Any], Any], items: Sequence) -> Iterator:
        """``fn(context, item)`` for each item, in order, as the workers finish them: every item is
        sent at once (so no worker waits for a slow one of a batch), and closing the iterator early
        cancels the items not yet begun. Raises :class:`WorkersFailed` when the workers cannot go on."""
        items = list(items)
        try:
            if self.client is not None:
                futures = self.client.map(fn, [self.context] * len(items), items, pure=False)
            else:
                futures = [self.pool.submit(_call, (fn, item)) for item in items]
                self.futures = [f for f in self.futures if not f.done()] + futures
        except (BrokenProcessPool, RuntimeError, OSError) as err:
            raise WorkersFailed(str(err) or "the workers are gone") from err
        try:
            for future in futures:
                try:
                    yield future.result()
                except BrokenProcessPool as err:
                    raise WorkersFailed(str(err) or "a worker process died") from err
                except (OSError, TimeoutError) as err:
                    raise WorkersFailed(str(err)) from err
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """End the local processes. Work still running then was abandoned (a law whose scoring the
        run's deadline passed by, an engine's form after its budget): nobody will take its result,
        so its process is ended rather than waited for -- waiting would keep a run that kept to its
        budget from returning, for as long as the slowest abandoned fit takes."""
        if self.pool is not None:
            for future in self.futures:
                future.cancel()
            if any(not f.done() for f in self.futures):
                _end_processes(self.pool)
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool, self.futures = None, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _end_processes(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes. A kill, not a terminate: workers forked inside a run inherit
    its handler that turns SIGTERM into a request to stop (:func:`discover.checkpoint.stop_on_signals`),
    and would go on fitting. The standard library has ``kill_workers`` from Python 3.14; before it,
    the pool's processes are only reachable through its ``_processes``."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.kill()


def each(fn: Callable[[Any, Any], Any], context, items: Sequence, workers: Workers | None = None,
         on_failure: Callable[[WorkersFailed], None] | None = None) -> Iterator:
    """``fn(context, item)`` for each item, in order and lazily: all sent at once to ``workers``
    (which hold their own copy of ``context``) when there are some and more than one item, else
    computed here one at a time as they are asked for. If the workers fail, the rest is computed
    here (``on_failure`` is told why). Closing the iterator early cancels what was not begun."""
    items = list(items)
    done = 0
    if workers is not None and len(items) > 1:
        stream = workers.imap(fn, items)
        try:
            for out in stream:
                done += 1
                yield out
            return
        except WorkersFailed as err:
            if on_failure is not None:
                on_failure(err)
        finally:
            stream.close()
    for item in items[done:]:
        yield fn(context, item)


@contextlib.contextmanager
def local_workers(context, n: int):
    """``n`` local worker processes holding ``context`` for the length of a run, or None for one."""
    if n < 2:
        yield None
        return
    with Workers(context, workers=n) as pool:
        yield pool


@contextlib.contextmanager
def cluster_client(address: str | None):
    """A dask.distributed client of the scheduler at ``address``, closed when the run ends; None
    without an address. Bad input is a one-line error: no dask installed, no scheduler there."""
    if not address:
        yield None
        return
    try:
        from distributed import Client  # optional: only a cluster run needs it
    except ImportError:
        raise DataError("--dask-scheduler needs dask.distributed: pip install 'discover[dask]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as err:
        raise DataError(f"cannot reach the Dask scheduler at {address!r}: {err}") from None
    try:
        yield client
    finally:
        client.close()


__all__ = ["Workers", "WorkersFailed", "each", "local_cores", "local_workers", "cluster_client"]
