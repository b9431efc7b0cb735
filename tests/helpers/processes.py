"""Running the tools as a user does (a process of their own), reading their refusals, and
killing a run at a point it names itself."""
import importlib
import os
import os.path as osp
import signal
import subprocess
import sys
import threading
from typing import Optional, Sequence

import pytest

from .paths import REPO, TESTS, TOOLS


def tool_env(threads: int = 1, **extra: str) -> dict:
    """The environment of a child process: ``threads`` OpenMP threads, unbuffered output, and
    tests/ importable (for ``helpers.pause_points`` and ``helpers.record_losses`` in
    ``custom_imports``), and the repository's root (for ``python -m tools.<name>`` from any
    working directory)."""
    path = os.pathsep.join(p for p in (TESTS, REPO, os.environ.get('PYTHONPATH')) if p)
    return dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1',
                PYTHONPATH=path, **extra)


def run_python(*args: str, threads: int = 1, cwd: str = REPO, timeout: int = 900,
               env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """``python args`` in a new process, from the repository root."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=env or tool_env(threads), timeout=timeout)


#: the tools that run as modules from the repository's root (they import demo_kit/, benchmarks/)
MODULE_TOOLS = ('demo.py', 'make_synthetic_mpii.py', 'benchmark.py')


def run_tool(tool: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python tools/<tool> args`` (``python -m tools.<name>`` for :data:`MODULE_TOOLS`) in a
    new process (keywords as :func:`run_python`)."""
    if tool in MODULE_TOOLS:
        return run_python('-m', f'tools.{tool[:-len(".py")]}', *args, **kwargs)
    return run_python(osp.join(TOOLS, tool), *args, **kwargs)


def load_tool(name: str):
    """``tools.<name>``, for what it defines; importing it runs nothing (its command line is
    behind ``__main__``)."""
    return importlib.import_module(f'tools.{name}')


def succeeded(result: subprocess.CompletedProcess) -> str:
    """stdout and stderr of a run that must have exited 0."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def stock_tool(package: str, name: str) -> str:
    """mmpose's or mmdet's own ``tools/<name>``, shipped inside the installed package."""
    module = __import__(package)
    path = osp.join(osp.dirname(module.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        pytest.skip(f'{package} is installed without its .mim tools ({path})')
    return path


def user_error(result) -> str:
    """The message of a refused run (a CompletedProcess or ``(exit code, stderr)``): exit 1, no
    traceback, one ``error: `` line (two where the message names a second file), then the
    ``--debug`` hint."""
    returncode, stderr = ((result.returncode, result.stderr)
                          if isinstance(result, subprocess.CompletedProcess) else result)
    assert returncode == 1, stderr[-3000:]
    assert 'Traceback' not in stderr, stderr[-3000:]
    lines = stderr.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith('error: ')]
    assert len(start) == 1, stderr[-3000:]
    end = lines.index('(run again with --debug for the traceback)', start[0])
    assert 1 <= end - start[0] <= 2, lines[start[0]:end]
    return '\n'.join(lines[start[0]:end])


def kill_when_paused(command: Sequence[str], env: dict, log_path, timeout: int = 600) -> str:
    """Run ``command`` until it prints ``PAUSED ...`` (:mod:`helpers.pause_points`), SIGKILL it
    there and return its output. Fails if the run ends without pausing, or has not paused
    after ``timeout`` seconds (then it is killed)."""
    output = []
    process = subprocess.Popen(list(command), cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:  # blocks until the child writes: no polling
            output.append(line)
            if line.startswith('PAUSED '):
                process.send_signal(signal.SIGKILL)
                break
        else:
            pytest.fail('the run ended before its pause point:\n' + ''.join(output)[-3000:])
        process.wait()
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()
        with open(log_path, 'w') as log:
            log.write(''.join(output))
    return ''.join(output)
