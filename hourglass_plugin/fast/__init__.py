"""Fast paths of :class:`StackedHourglass` (the training speed-ups and ``with_cp`` live in the
backbone itself; see ``tools/benchmark.py`` for what each path gains)."""
from .inference import FoldedStackedHourglass, fold_for_inference

__all__ = ['FoldedStackedHourglass', 'fold_for_inference']
