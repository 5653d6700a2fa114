"""What each process of the app runs first (service/__main__.py starts them).

A worker process of uvicorn's supervisor must not outlive it: a supervisor
killed outright (SIGKILL, an OOM kill) cannot stop its workers, which would
go on holding the port. The kernel kills each worker when its parent dies.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal

from fastapi import FastAPI

from observability.logging import configure_logging
from service.app import create_app
from service.settings import get_settings

_PR_SET_PDEATHSIG = 1


def app_in_worker() -> FastAPI:
    """uvicorn's factory, called in each process that serves the app."""
    if (supervisor := multiprocessing.parent_process()) is not None:
        die_with(supervisor.pid)
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def die_with(parent_pid: int | None) -> None:
    """Have the kernel kill this process when its parent exits (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died before the request took effect.
    if os.getppid() != parent_pid:
        os._exit(1)
