"""The allocator setting: what it changes (fresh pages per large map), how it is switched off."""
import os
import subprocess
import sys

import pytest

from benchmarks.measure import page_faults_counted

# allocates and frees a 64 MiB map 5 times, then 10 times counting page faults, after the
# setting named by argv[1]
CHURN = '''
import resource, sys
from hourglass_plugin import allocator
print(allocator.apply(sys.argv[1]))
import torch
for _ in range(20):  # the heap grows to its working size
    torch.ones(16 * 2**20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    torch.ones(16 * 2**20)  # 64 MiB, freed at once
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def churn(setting: str, **env) -> tuple:
    result = subprocess.run([sys.executable, '-c', CHURN, setting], capture_output=True,
                            text=True, env=dict(os.environ, **env))
    assert result.returncode == 0, result.stderr[-2000:]
    applied, faults = result.stdout.split()
    return applied, int(faults)


@pytest.mark.slow
@pytest.mark.skipif(not page_faults_counted(), reason='the OS reports no page faults here')
def test_tuned_setting_reuses_freed_maps_instead_of_faulting_new_pages():
    applied, default = churn('default')
    assert applied == 'default'
    assert default >= 10 * 16384 // 2  # most of every map's 16384 pages are new each time
    applied, tuned = churn('tuned')
    assert applied == 'tuned'
    assert tuned < default / 10


@pytest.mark.slow
def test_environment_switches_it_off():
    applied, _ = churn('tuned', HOURGLASS_ALLOCATOR='default')
    assert applied == 'default'


def test_unknown_setting_is_refused():
    from hourglass_plugin import allocator
    with pytest.raises(ValueError, match=r"allocator='fast'.*choose one of \('default', 'tuned'\)"):
        allocator.apply('fast')
