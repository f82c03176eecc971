"""Local worker processes that stop when asked and die with their parent.

Ctrl-C reaches every process of the terminal's foreground group. The workers ignore it, so that only the
main process decides: it cancels the queued work, terminates the workers (a running model is not waited
for) and keeps what had finished. On Linux each worker also asks the kernel for SIGKILL when its parent
dies (prctl PR_SET_PDEATHSIG), so that a killed main process leaves no worker computing on.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STOP_TIMEOUT_S = 1.5  # how long a terminated worker may take to exit before it is killed


def _die_with_parent(main: int) -> None:
    """Worker initializer: ignore Ctrl-C (the main process handles it); on Linux, be killed when the parent dies.

    A worker is spawned (importing Mesa makes spawn the default) and imports the model before this runs: if the
    main process dies meanwhile, the worker ends here, once its imports are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        parent = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent or not _alive(main):  # a parent died before the request was made
            os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def dask_setup(_worker: object) -> None:
    """Dask preload of the workers of `prevsim cluster`: ignore Ctrl-C; the cluster stops them when it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers ignore Ctrl-C and die with their parent; `stop` ends them at once."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),))

    def stop(self) -> None:
        """Cancel queued work and end the workers now, without waiting for running tasks."""
        processes = list((getattr(self, "_processes", None) or {}).values())  # no public handle before Python 3.14
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()


def map_unordered(workers: int, fn: Callable[..., Any], jobs: Iterable[tuple[Any, tuple]]) -> Iterator[tuple[Any, Any]]:
    """(key, fn(*args)) for every (key, args) of `jobs`, in order of completion, in `workers` processes.

    Any exception here, Ctrl-C included, stops the workers before it propagates: nothing computes on."""
    pool = WorkerPool(workers)
    try:
        futures: dict[Future, Any] = {pool.submit(fn, *args): key for key, args in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:
        pool.stop()
        raise
    pool.shutdown()
