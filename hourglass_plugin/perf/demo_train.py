"""``demo_train``: the demo config's training step, as mmengine's Runner takes it
(``model.train_step`` with the config's optimizer wrapper), on batches of the synthetic MPII made
by the config's own pipeline: the model as the config builds it (reference) against the same
model with ``hourglass_plugin.accel``'s fast paths.

The demo's maps are small (16 x 128 x 32 x 32 floats: 8 MiB), so what the fast paths save in
allocations weighs less there than in the hg8 step of ``pose_train``, and their recomputed
BatchNorm-ReLU in backward weighs more: this scenario says which way the demo config should go.
"""
import copy
import itertools
import tempfile
from typing import Dict

import torch

from ..accel import accelerate
from ..demo import DEMO_CONFIG, render_dataset
from .measure import conv_flops, conv_seconds

REFERENCE = 'demo config as built'
FAST = 'demo config + accel'


def _batches(cfg, data_root: str, batch: int, count: int):
    """``count`` batches of ``batch`` samples from the config's train pipeline."""
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import DATASETS
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=data_root))
    samples = [dataset[i % len(dataset)] for i in range(batch * count)]
    return [pseudo_collate(samples[i * batch:(i + 1) * batch]) for i in range(count)]


def demo_train(batch: int = 16, rounds: int = 3, iterations: int = 5, num_images: int = 64,
               device: str = 'cpu', memory: bool = True, config: str = DEMO_CONFIG) -> Dict:
    """Times ``rounds`` x ``iterations`` training iterations of each contender, the contenders
    in turn each round, on ``num_images`` rendered people
    (``hourglass_plugin.demo.render_dataset``); times and memory are per ``iterations``."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    from .scenarios import _result, _step_memory, _timed
    device = torch.device(device)
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    with tempfile.TemporaryDirectory() as root:
        render_dataset(root, num_train=num_images, num_val=1, seed=0)
        batches = _batches(cfg, root + '/', batch, count=4)
    torch.manual_seed(0)
    plain = MODELS.build(cfg.model).to(device)
    fast = copy.deepcopy(plain)
    accelerate(fast)
    steps = {}
    for name, model in ((REFERENCE, plain), (FAST, fast)):
        model.train()
        optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
        cycle = itertools.cycle(batches)

        def step(model=model, optim=optim, cycle=cycle) -> None:
            for _ in range(iterations):
                model.train_step(next(cycle), optim)

        steps[name] = step
    timed = _timed(steps, rounds, device)
    mem = {k: _step_memory(s, device) for k, s in steps.items()} if memory else None
    conv = {k: conv_seconds(s) for k, s in steps.items()} if device.type == 'cpu' else None
    inputs = plain.data_preprocessor(batches[0], False)['inputs']
    flops = 3 * iterations * conv_flops(plain.backbone.eval(), lambda: plain.backbone(inputs))
    plain.train()
    backbone = cfg.model.backbone
    return _result('demo_train', timed, REFERENCE, {k: flops for k in steps}, mem, conv=conv,
                   setting=f"demo config (hg{backbone.num_stacks}, {backbone.feat_channels} "
                   f"features), {tuple(cfg.codec.input_size)}, batch {batch}, fp32, "
                   f"{iterations} x model.train_step with the config's optimizer (Adam)",
                   target=dict(contender=FAST))
