"""A progress bar over the test loop's batches.

mmengine's LoggerHook writes a line only every ``interval`` iterations (50 in mmpose's default
runtime), so a long evaluation is silent for minutes; this hook redraws mmengine's ProgressBar
after every batch. Only the main process draws, so distributed runs do not interleave bars.
"""
import sys
from typing import Any, Optional, Sequence, TextIO

from mmengine.dist import is_main_process
from mmengine.hooks import Hook, LoggerHook
from mmengine.utils import ProgressBar


class TestProgressBarHook(Hook):
    """Draw ``[>>>   ] done/total, N task/s, elapsed, ETA`` during ``runner.test()``.

    The bar shares stdout with mmengine's logger, so it ends its line before every iteration
    the logger will log and after the last one (then the evaluator logs): log lines never start
    in the middle of the bar.

    Args:
        file: where the bar is written (stdout, where mmengine's logger writes too).
    """

    __test__ = False  # a Hook, not a pytest test class, despite the name
    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL): the bar line ends before its log

    def __init__(self, file: TextIO = sys.stdout) -> None:
        self.file = file
        self.bar: Optional[ProgressBar] = None
        self.total = 0
        self.log_interval: Optional[int] = None

    def before_test_epoch(self, runner: Any) -> None:
        if not is_main_process():
            return
        self.total = len(runner.test_loop.dataloader)
        self.log_interval = next(
            (hook.interval for hook in runner.hooks if isinstance(hook, LoggerHook)), None)
        self.bar = ProgressBar(self.total, file=self.file)

    def after_test_iter(self,
                        runner: Any,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        if self.bar is None:
            return
        self.bar.update()
        last = batch_idx + 1 == self.total
        logged = self.log_interval is not None and (batch_idx + 1) % self.log_interval == 0
        if last or logged:
            self.file.write('\n')
            self.file.flush()

    def after_test_epoch(self, runner: Any, metrics: Optional[dict] = None) -> None:
        self.bar = None
