"""Child processes that are always stopped, and waits for them to be ready."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path


class StartupError(RuntimeError):
    """A process did not become ready; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A child in its own session (process group), its output in ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        log_to_console: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.log_to_console = log_to_console
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        output = None if self.log_to_console else self.log_path.open("ab")
        try:
            self._popen = subprocess.Popen(
                self.argv,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            if output:
                output.close()
        return self

    @property
    def pid(self) -> int | None:
        """The child's process id (also its process group's), once started."""
        return self._popen.pid if self._popen is not None else None

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the whole process group at once (a crash, not a shutdown), and reap it."""
        if self._popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, signal.SIGKILL)
        self._popen.wait(timeout=timeout)

    def pause(self) -> None:
        """SIGSTOP the process group: it holds its sockets but answers nothing."""
        if self._popen is not None:
            os.killpg(self._popen.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._popen is not None:
            os.killpg(self._popen.pid, signal.SIGCONT)

    def stop(self, timeout: float = 15.0) -> None:
        """Signal the whole process group, then kill what is left."""
        if self._popen is None:
            return
        for sig, grace in ((self.stop_signal, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, sig)
                # A paused (SIGSTOP) group handles the signal only once continued.
                os.killpg(self._popen.pid, signal.SIGCONT)
            try:
                self._popen.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # The leader may be gone while children of its group linger.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, signal.SIGKILL)


def wait_until(
    ready: Callable[[], bool], process: Process | None, what: str, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and not process.alive():
            raise StartupError(f"{what} exited early:\n{process.log_tail()}")
        time.sleep(0.1)
    tail = process.log_tail() if process else ""
    raise StartupError(f"{what} not ready after {timeout:.0f}s\n{tail}")


def tcp_ready(port: int) -> Callable[[], bool]:
    return lambda: port_in_use(port)


def http_ready(url: str, accept: Callable[[int], bool] = lambda s: s < 300) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                return accept(response.status)
        except urllib.error.HTTPError as exc:
            return accept(exc.code)
        except (OSError, ValueError):
            return False

    return check
