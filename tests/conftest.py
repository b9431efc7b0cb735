"""Fixtures the test modules share. The expensive ones (a trained and exported model) are made
once a session; helpers that are not fixtures are in the ``helpers`` package beside this file."""
import logging
import os.path as osp
import runpy
import shutil
import subprocess
import sys
import tempfile
from typing import List

import pytest
import torch
from mmengine.logging import MessageHub

import hourglass_plugin  # noqa: F401  registrations and safe loading, as in every real use
from helpers import runs
from helpers.background import Background, kill_child_processes
from helpers.models import save_sample_head_boxes, save_tiny_checkpoint
from helpers.paths import REPO


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture()
def one_thread():
    """One intra-op thread for in-process training of a tiny model, as the subprocesses run
    (OMP_NUM_THREADS=1): on a busy 2-core machine two OpenMP threads spin waiting for each other
    and a tiny model trains many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def run_tool_here(capsys, monkeypatch):
    """``tools/<tool> args`` run as its command line runs it (``__main__``), in this process,
    from the repository root: a CompletedProcess with its exit code, stdout and stderr, as
    ``helpers.processes.run_tool`` gives. Five seconds of imports fewer than a process of its
    own; for runs whose effects are their output and files. A kill, a crash or a pickle's side
    effects need a process of their own."""
    def run(tool: str, *args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, 'argv', [tool, *args])
        monkeypatch.setenv('LOCAL_RANK', '0')
        monkeypatch.chdir(REPO)
        capsys.readouterr()
        _log_to_this_test()
        code = 0
        hubs = set(MessageHub._instance_dict)
        try:
            module = 'tools.' + tool[:-len('.py')].replace('/', '.')
            sys.modules.pop(module, None)  # run afresh, as its command line runs it
            runpy.run_module(module, run_name='__main__')
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        finally:  # a later Runner started in the same second would share the run's MessageHub
            for name in set(MessageHub._instance_dict) - hubs:
                del MessageHub._instance_dict[name]
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess([tool, *args], code, out, err)
    return run


def _log_to_this_test() -> None:
    """Point the console handlers of the mmengine loggers that earlier in-process runs made at
    this test's captured stdout: each was bound to the capture of the test that made it, closed
    since, and mmengine logs to the newest logger (``logger='current'``)."""
    from mmengine.logging import MMLogger
    for logger in MMLogger._instance_dict.values():
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:  # not the FileHandlers of work dirs
                handler.stream = sys.stdout  # (setStream would flush the closed one)


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory) -> str:
    """Seeded random weights of the tiny config's model, in mmengine's layout (not to be
    changed by a test)."""
    return save_tiny_checkpoint(str(tmp_path_factory.mktemp('tiny') / 'tiny.pth'))


@pytest.fixture(scope='session')
def sample_head_boxes(tmp_path_factory) -> str:
    """``mpii_gt_val.mat`` of the 5 sample images (not to be changed by a test)."""
    return save_sample_head_boxes(str(tmp_path_factory.mktemp('headboxes') / 'mpii_gt_val.mat'))


#: what the session makes in the background (helpers.background), in this order, each by the
#: fixture of its name; the tests that wait for them run last
BACKGROUND = Background()
_BACKGROUND_DIRS: List[str] = []


def _in_new_directory(make):
    def job():
        _BACKGROUND_DIRS.append(tempfile.mkdtemp(prefix='hourglass-tests-'))
        return make(_BACKGROUND_DIRS[-1])
    return job


_BACKGROUND_JOBS = {name: _in_new_directory(make) for name, make in (
    ('benchmark_tool_run', runs.benchmark_tool_run), ('demo_flow', runs.demo_flow),
    ('lsp_demo', runs.lsp_demo), ('demo_run', runs.make_demo_run),
    ('overfit_run', runs.overfit_run))}


def _job_waited_for(item) -> int:
    """The index in _BACKGROUND_JOBS of the first job ``item`` waits for, else -1."""
    names = getattr(item, 'fixturenames', ())
    return next((i for i, name in enumerate(_BACKGROUND_JOBS) if name in names), -1)


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config, items) -> None:
    """Start the background jobs the selected tests need, and move those tests last (in the
    jobs' order, each module's others where they were): the others run while the jobs do."""
    needed = {name for item in items for name in getattr(item, 'fixturenames', ())}
    jobs = {name: job for name, job in _BACKGROUND_JOBS.items() if name in needed}
    items[:] = sorted(items, key=lambda item: (_job_waited_for(item) >= 0,
                                               _job_waited_for(item)))
    if jobs and not config.option.collectonly:
        # two lanes of one thread each on two cores: the background's, and this process's
        # with the tools it starts (OpenMP threads that outnumber the cores spin and stall)
        torch.set_num_threads(1)
        BACKGROUND.start(jobs)


def pytest_sessionfinish(session) -> None:
    if BACKGROUND.unfinished() and osp.isdir('/proc'):
        kill_child_processes()  # a session ended early
    for directory in _BACKGROUND_DIRS:
        shutil.rmtree(directory, ignore_errors=True)


def _made_in_background(name: str, doc: str):
    def fixture():
        return BACKGROUND.result(name, _BACKGROUND_JOBS[name])
    fixture.__doc__ = doc
    fixture.__name__ = name
    return pytest.fixture(scope='session', name=name)(fixture)


demo_run = _made_in_background('demo_run', 'The shared trained and exported demo network '
                               '(helpers.runs.make_demo_run).')
demo_flow = _made_in_background('demo_flow', 'python -m tools.demo on a small synthetic set.')
lsp_demo = _made_in_background('lsp_demo', 'python -m tools.demo --dataset lsp, briefly.')
benchmark_tool_run = _made_in_background('benchmark_tool_run', 'python -m tools.benchmark --tiny.')
overfit_run = _made_in_background('overfit_run', 'The OVERFIT config trained by tools/train.py: '
                                  'its final validation metrics.')
