"""Stop training when the loss or the weights stop being finite, naming the last good checkpoint."""
import math
import os.path as osp
from typing import Any, Dict, Optional

import torch
from mmengine.dist import all_reduce, get_rank, is_distributed
from mmengine.hooks import Hook

from ..errors import NonFiniteLossError


class StopOnNonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` at the first iteration whose loss is NaN or infinite.

    After every training iteration the total loss (``outputs['loss']``, the sum mmengine's
    ``parse_losses`` builds) is checked; in distributed runs the verdict is shared, so every
    process stops at the same iteration instead of the others hanging in the next all-reduce.
    Before every checkpoint the weights are checked too, so a checkpoint of non-finite weights is
    never written (a finite loss can still come with an infinite gradient). The error names the
    iteration, the non-finite losses and the last checkpoint written before it; ``tools/train.py``
    prints it as one line and exits 1.

    Priority ``VERY_HIGH``: it runs before ``CheckpointHook`` could save the broken weights.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.last_good_checkpoint: Optional[str] = None

    def before_train(self, runner: Any) -> None:
        # a resumed run: the checkpoint it resumed from is good until the next one is written
        if runner.cfg.get('resume', False) and runner.cfg.get('load_from'):
            self.last_good_checkpoint = runner.cfg.load_from

    def after_train_iter(self,
                         runner: Any,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[Dict[str, Any]] = None) -> None:
        if not outputs or 'loss' not in outputs:
            return
        loss = outputs['loss']
        loss = loss.detach() if isinstance(loss, torch.Tensor) else torch.tensor(float(loss))
        bad = (~torch.isfinite(loss)).any().to(torch.float32).reshape(1)
        if is_distributed():
            all_reduce(bad, op='sum')  # every rank learns if any rank's loss broke
        if bad.item() == 0:
            return
        values = ', '.join(f'{name}={_as_float(value):.6g}' for name, value in outputs.items()
                           if 'loss' in name and not math.isfinite(_as_float(value)))
        where = values if values else f'on another process than rank {get_rank()}'
        raise NonFiniteLossError(
            f'the loss is not finite at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
            f'batch {batch_idx + 1}): {where}; training stopped. {self._last_good(runner)}')

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict', {})
        broken = [name for name, tensor in state.items()
                  if torch.is_tensor(tensor) and tensor.is_floating_point()
                  and not bool(torch.isfinite(tensor).all())]
        if broken:
            done = checkpoint.get('meta', {}).get('iter', runner.iter)  # iterations trained
            raise NonFiniteLossError(
                f'the weights are not finite after iteration {done} (first: '
                f'{broken[0]}, {len(broken)} tensors); the checkpoint was not written, training '
                f'stopped. {self._last_good(runner)}')
        # CheckpointHook records the name of the checkpoint it is about to write
        self.last_good_checkpoint = runner.message_hub.get_info('last_ckpt',
                                                                self.last_good_checkpoint)

    def _last_good(self, runner: Any) -> str:
        path = self.last_good_checkpoint
        if path is None or not osp.isfile(path):
            return ('No checkpoint was written before it: lower the learning rate or check the '
                    'data, then train again.')
        return (f'Last good checkpoint: {path} (continue from it with tools/train.py CONFIG '
                f'--resume {path}, e.g. with a lower learning rate).')


def _as_float(value: Any) -> float:
    return float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)
