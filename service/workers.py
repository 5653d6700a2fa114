"""What each process of the app runs first (service/__main__.py starts them).

A worker process of uvicorn's supervisor must not outlive it: a supervisor
killed outright (SIGKILL, an OOM kill) cannot stop its workers, which would
go on holding the port. The kernel kills each worker when its parent dies.

Nor may a worker whose event loop is stuck go on taking its share of the
port's connections: the supervisor's health ping is answered by a thread, so
it would never notice. A watchdog thread ends a worker whose loop has not run
for ``STALL_SECONDS``; the supervisor starts a fresh one.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI

from observability.logging import configure_logging, get_logger
from service.app import create_app
from service.settings import get_settings

_PR_SET_PDEATHSIG = 1
STALL_SECONDS = 20.0
EXIT_STALLED = 70  # EX_SOFTWARE


def app_in_worker() -> FastAPI:
    """uvicorn's factory, called in each process that serves the app."""
    if (supervisor := multiprocessing.parent_process()) is not None:
        die_with(supervisor.pid)
        # uvicorn calls the factory on the loop that will serve the app.
        LoopWatchdog(asyncio.get_running_loop(), STALL_SECONDS, _end_stalled).start()
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def die_with(parent_pid: int | None) -> None:
    """Have the kernel kill this process when its parent exits (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "prctl"):
        return  # not Linux: the supervisor's own checks are all there is
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died before the request took effect.
    if os.getppid() != parent_pid:
        os._exit(1)


class LoopWatchdog:
    """Calls ``on_stall`` (from its own thread) once ``loop`` has not run a
    callback for ``stall_seconds``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stall_seconds: float,
        on_stall: Callable[[float], None],
    ) -> None:
        self._loop = loop
        self._stall = stall_seconds
        self._on_stall = on_stall
        self._beat_every = min(1.0, stall_seconds / 4)
        self._last_beat = time.monotonic()

    def start(self) -> None:
        self._loop.call_soon(self._beat)
        threading.Thread(target=self._watch, name="loop-watchdog", daemon=True).start()

    def _beat(self) -> None:
        self._last_beat = time.monotonic()
        self._loop.call_later(self._beat_every, self._beat)

    def _watch(self) -> None:
        while True:
            time.sleep(self._beat_every)
            silent = time.monotonic() - self._last_beat
            if silent > self._stall:
                self._on_stall(silent)
                return


def _end_stalled(silent: float) -> None:
    log = get_logger(__name__)
    log.critical("the event loop is stuck; ending this worker", stalled_seconds=round(silent, 1))
    os._exit(EXIT_STALLED)
