"""Expensive session fixtures made in the background while the other tests run.

On two cores most tests keep one busy (a tool in a process of its own with one thread, or a
tiny model in this one). A fixture that trains for minutes is started on a thread of its own as
soon as the session knows it will be needed (``conftest.pytest_collection_modifyitems``), and
the fixture waits for it: the work is the same, seeded and deterministic, it only runs on the
other core. Nothing is started for a session that does not use it (``make test-fast``).
"""
import contextlib
import os
import signal
import threading
from typing import Any, Callable, Dict, Tuple


class Background:
    """Jobs (callables) run one after another on one background thread; :meth:`result` waits
    for a job and returns its value or raises its exception. A job that was not started (its
    fixture used where the session did not plan for it) runs in the foreground."""

    def __init__(self) -> None:
        self._done: Dict[str, threading.Event] = {}
        self._results: Dict[str, Tuple[bool, Any]] = {}

    def start(self, jobs: Dict[str, Callable[[], Any]]) -> None:
        """Run ``jobs`` (name -> callable), in this order, on a background thread."""
        for name in jobs:
            self._done[name] = threading.Event()
        threading.Thread(target=lambda: [self._run(n, j) for n, j in jobs.items()],
                         name='background-fixtures', daemon=True).start()

    def _run(self, name: str, job: Callable[[], Any]) -> None:
        try:
            self._results[name] = (True, job())
        except BaseException as error:  # re-raised in the test that waits for it
            self._results[name] = (False, error)
        finally:
            self._done[name].set()

    def unfinished(self) -> bool:
        return not all(done.is_set() for done in self._done.values())

    def result(self, name: str, job: Callable[[], Any]) -> Any:
        """``job``'s value, made in the background if it was started, else now."""
        if name not in self._done:
            self._done[name] = threading.Event()
            self._run(name, job)
        self._done[name].wait()
        ok, value = self._results[name]
        if not ok:
            raise value
        return value


def kill_child_processes() -> None:
    """SIGKILL the processes this one started that still run (Linux: read from /proc), so that a
    session that ends early (-x, Ctrl-C) leaves no background job running."""
    me = str(os.getpid())
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                parent = f.read().rsplit(')', 1)[1].split()[1]
        except OSError:
            continue
        if parent == me:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)
