"""Test helper, imported into a training subprocess through ``custom_imports``: the rename that
puts the checkpoint named by $SLOW_CHECKPOINT (e.g. ``epoch_3.pth``) into place waits
$SLOW_SECONDS before and after, so that a test can kill the run while that checkpoint is being
written, or just after it appeared but before ``last_checkpoint`` names it.
"""
import os
import os.path as osp
import time

_replace = os.replace


def _slow_replace(src, dst, *args, **kwargs):
    slow = osp.basename(os.fspath(dst)) == os.environ.get('SLOW_CHECKPOINT')
    delay = float(os.environ.get('SLOW_SECONDS', '1.5'))
    if slow:
        time.sleep(delay)
    _replace(src, dst, *args, **kwargs)
    if slow:
        time.sleep(delay)


os.replace = _slow_replace
