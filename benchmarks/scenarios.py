"""The side-by-side comparisons of ``python -m tools.benchmark``, contenders in one process.

* ``pose_train``: Newell hg8 training step (forward, MSE on every stack, backward, RMSprop): the
  plain eager network fed channels-last input (reference) vs our ``StackedHourglass`` in fp32
  and, where bf16 is computed natively (a GPU, a CPU with bf16 units), under bf16 autocast as
  ``BF16OptimWrapper`` runs it.
* ``pose_infer``: the same network's forward: plain eager (reference), ours eager, ours exported
  to ONNX and run in ONNX Runtime and in OpenVINO (``hourglass_plugin.deploy``), optionally ours
  under ``torch.compile``.
* ``hg104_train``: CornerNet HG-104 training step (forward, MSE on both stacks' features,
  backward, Adam as in CornerNet): mmdet's ``HourglassNet`` (reference) vs ours, without and
  with activation checkpointing; step memory of each.

All contenders of a comparison have the same weights (converted with the repo's converters), so
the comparison also reports how far their outputs are apart.
"""
import contextlib
import os.path as osp
import statistics
import tempfile
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hourglass_plugin.conversion import convert_state_dict
from hourglass_plugin.deploy.export import as_list
from hourglass_plugin.engine import cpu_has_native_bf16
from hourglass_plugin.models.backbones import StackedHourglass
from .measure import (alternate, conv_flops, conv_seconds, max_abs_diff_rel, ratios,
                      step_memory_bytes)
from .plain_posenet import PlainPoseNet

REFERENCE = 'plain eager, channels-last input'
OURS_TRAIN = 'ours (channels_last=True)'
BF16_TRAIN = 'ours, bf16 autocast (channels_last=True)'
#: the inference engines of ``hourglass_plugin.deploy`` that pose_infer times, and their rows
ENGINES = ('onnxruntime', 'openvino')
ENGINE_NAMES = {'onnxruntime': 'ours exported, ONNX Runtime', 'openvino': 'ours exported, OpenVINO'}


def _ours_from(state_dict: Dict, source: str, **overrides) -> StackedHourglass:
    converted, cfg, _ = convert_state_dict(state_dict, source)
    cfg = {k: v for k, v in cfg.items() if k != 'type'}
    model = StackedHourglass(**dict(cfg, **overrides))
    model.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items()}, strict=True)
    return model


def _train_step(model: nn.Module, forward: Callable, inputs: torch.Tensor,
                targets: List[torch.Tensor], optimizer: Callable,
                bf16: bool = False) -> Callable[[], None]:
    """One training step; ``bf16``: forward and loss under bf16 autocast, as
    ``BF16OptimWrapper`` runs them (weights and optimizer in fp32)."""
    model.train()
    opt = optimizer(model.parameters())

    def step() -> None:
        if not model.training:  # e.g. left in eval mode by conv_flops: BN would not train
            raise RuntimeError(f'{type(model).__name__} is in eval mode: a training step '
                               'must run in training mode')
        autocast = torch.autocast(inputs.device.type, dtype=torch.bfloat16) if bf16 else \
            contextlib.nullcontext()
        with autocast:
            outs = forward(model, inputs)
            loss = sum(F.mse_loss(o.float(), t) for o, t in zip(outs, targets))  # every stack
        opt.zero_grad(set_to_none=False)  # gradients stay allocated: not part of step memory
        loss.backward()
        opt.step()

    return step


def _timed(steps: Dict[str, Callable[[], object]], rounds: int, device: torch.device) -> Dict:
    """alternate() with its CPU times and kernel usage: the arguments of :func:`_result`."""
    cpu, kernel = {}, {}
    times = alternate(steps, rounds, sync=_sync(device), cpu_times=cpu, kernel=kernel)
    return dict(times=times, cpu=cpu, kernel=kernel)


def _result(name: str, timed: Dict, reference: str, flops: Dict[str, float],
            memory: Optional[Dict[str, int]] = None, checks: Optional[Dict[str, str]] = None,
            conv: Optional[Dict[str, float]] = None, **extra) -> Dict:
    """The scenario's record; ``conv``: each contender's seconds in convolutions in one step
    (:func:`~.measure.conv_seconds`), also as a ratio to the reference's median time: the
    lowest ratio any contender with these convolutions can reach."""
    times, cpu, kernel = timed['times'], timed['cpu'], timed['kernel']
    rel, cpu_rel = ratios(times, reference), ratios(cpu, reference)
    reference_s = statistics.median(times[reference])
    rows = []
    for contender, ts in times.items():
        median = statistics.median(ts)
        usage = kernel.get(contender) or None  # [(minor faults, system s)] per round
        rows.append(dict(
            contender=contender, times_s=ts, median_s=median, ratio=rel[contender],
            cpu_times_s=cpu[contender], cpu_ratio=cpu_rel[contender],
            minor_faults=None if usage is None else [u[0] for u in usage],
            sys_times_s=None if usage is None else [u[1] for u in usage],
            gflops_per_s=flops[contender] / median / 1e9,
            step_memory_mb=None if memory is None else memory[contender] / 2**20,
            conv_s=None if conv is None else conv[contender],
            conv_ratio=None if conv is None else conv[contender] / reference_s,
            check=(checks or {}).get(contender, '')))
    return dict(name=name, reference=reference, contenders=rows, **extra)


def _sync(device: torch.device) -> Callable[[], None]:
    return (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)


def pose_models(stacks: int, order: int, device: torch.device, seed: int = 0):
    """(plain PoseNet, our StackedHourglass channels-last), same weights."""
    torch.manual_seed(seed)
    plain = PlainPoseNet(stacks, 256, 16, order=order)
    ours = _ours_from(plain.state_dict(), 'princeton', channels_last=True)
    return plain.to(device), ours.to(device)


def pose_train(stacks: int = 8, order: int = 4, batch: int = 8, size: int = 256,
               rounds: int = 3, device: str = 'cpu', memory: bool = True) -> Dict:
    device = torch.device(device)
    plain, ours = pose_models(stacks, order, device)
    x = torch.randn(batch, 3, size, size, device=device)
    x_nhwc = x.permute(0, 2, 3, 1).contiguous()  # (B, H, W, 3), as princeton-vl feeds it
    targets = [torch.rand(batch, 16, size // 4, size // 4, device=device) for _ in range(stacks)]
    rmsprop = lambda params: torch.optim.RMSprop(params, lr=2.5e-4)  # noqa: E731  the paper's
    flops = 3 * conv_flops(ours.eval(), lambda: ours(x))  # forward + 2 backward convs
    steps = {  # (each puts its model in training mode)
        REFERENCE: _train_step(
            plain, lambda m, i: m(i).unbind(1), x_nhwc, targets, rmsprop),
        OURS_TRAIN: _train_step(ours, lambda m, i: m(i), x, targets, rmsprop),
    }
    if device.type == 'cuda' or cpu_has_native_bf16():  # elsewhere --amp trains in fp32
        bf16 = _ours_from(plain.state_dict(), 'princeton', channels_last=True).to(device)
        steps[BF16_TRAIN] = _train_step(bf16, lambda m, i: m(i), x, targets, rmsprop, bf16=True)
    timed = _timed(steps, rounds, device)
    mem = {k: step_memory_bytes(s, device) for k, s in steps.items()} if memory else None
    conv = {k: conv_seconds(s) for k, s in steps.items()} if device.type == 'cpu' else None
    return _result('pose_train', timed, REFERENCE,
                   {k: flops for k in steps}, mem, conv=conv,
                   setting=f'Newell hg{stacks} (order {order}), {size}x{size}, batch {batch}, '
                   'fp32, training step (fwd, MSE on every stack, bwd, RMSprop)',
                   target=dict(contender=BF16_TRAIN if BF16_TRAIN in steps else OURS_TRAIN,
                               max_ratio=0.75,
                               max_ratio_tuned_allocator=0.85))


def pose_infer(stacks: int = 8, order: int = 4, batch: int = 8, size: int = 256,
               rounds: int = 5, device: str = 'cpu', compile: bool = False,
               engines: Sequence[str] = ENGINES) -> Dict:
    """Inference forward: plain eager (reference), ours eager, ours exported to ONNX and run in
    each of ``engines`` (last stack's heatmaps out, as ``tools/export.py`` exports), and with
    ``compile`` ours under ``torch.compile`` (inductor, frozen weights)."""
    from hourglass_plugin.deploy import export_onnx, load_engine
    device = torch.device(device)
    plain, ours = pose_models(stacks, order, device)
    plain.eval(), ours.eval()
    x = torch.randn(batch, 3, size, size, device=device)
    x_nhwc = x.permute(0, 2, 3, 1).contiguous()
    runs = {
        REFERENCE: lambda: plain(x_nhwc),
        'ours eager (channels_last=True)': lambda: ours(x),
    }
    with tempfile.TemporaryDirectory() as tmp:
        if engines:
            path = osp.join(tmp, 'hg.onnx')
            export_onnx(ours, path, (size, size))
        for backend in engines:
            engine = load_engine(backend, path)
            runs[ENGINE_NAMES[backend]] = lambda engine=engine: engine(x)
    if compile:
        import torch._inductor.config as inductor
        inductor.freezing = True  # weights as constants: conv + BN folded, layouts chosen once
        compiled = torch.compile(ours)
        runs['ours + torch.compile (inductor, freezing)'] = lambda: compiled(x)
    with torch.inference_mode():
        expected = ours(x)
        checks = {REFERENCE: f'max|diff| vs ours eager '
                  f'{max_abs_diff_rel(expected, plain(x_nhwc).unbind(1)):.1e} of range'}
        for name, run in list(runs.items())[2:]:
            checks[name] = f'max|diff| vs ours eager ' \
                f'{max_abs_diff_rel(expected[-1:], as_list(run())[-1:]):.1e} of range'
        timed = _timed(runs, rounds, device)
    flops = conv_flops(ours, lambda: ours(x))
    return _result('pose_infer', timed, REFERENCE, {k: flops for k in runs}, None, checks,
                   setting=f'Newell hg{stacks} (order {order}), {size}x{size}, batch {batch}, '
                   'fp32, inference forward',
                   target=dict(contender=ENGINE_NAMES['openvino'], max_ratio=0.45,
                               max_ratio_tuned_allocator=0.85, min_conv_peak=0.75))


def hg104_train(batch: int = 2, size: int = 512, rounds: int = 3, device: str = 'cpu',
                small: bool = False, memory: bool = True) -> Dict:
    from mmdet.models.backbones import HourglassNet
    device = torch.device(device)
    torch.manual_seed(0)
    # small: a narrow, shallow HourglassNet for the smoke test
    kwargs = dict(downsample_times=2, stage_channels=(16, 16, 24), stage_blocks=(1, 1, 2),
                  feat_channel=16) if small else {}
    mmdet = HourglassNet(**kwargs).to(device)
    state = mmdet.state_dict()
    variants = {
        'ours (NCHW)': dict(),
        'ours (channels_last=True)': dict(channels_last=True),
        'ours, with_cp=True (per unit, NCHW)': dict(with_cp=True),
    }
    models = {'mmdet HourglassNet': mmdet}
    models.update({k: _ours_from(state, 'mmdet', **v).to(device) for k, v in variants.items()})
    x = torch.randn(batch, 3, size, size, device=device)
    with torch.no_grad():
        outs = [o.shape for o in models['ours (NCHW)'].eval()(x)]
    targets = [torch.rand(s, device=device) for s in outs]
    adam = lambda params: torch.optim.Adam(params, lr=5e-4)  # noqa: E731  CornerNet's
    steps = {k: _train_step(m, lambda m, i: m(i), x, targets, adam) for k, m in models.items()}
    ours = models['ours (NCHW)']
    flops = 3 * conv_flops(ours.eval(), lambda: ours(x))
    ours.train()
    timed = _timed(steps, rounds, device)
    mem = {k: step_memory_bytes(s, device) for k, s in steps.items()} if memory else None
    return _result('hg104_train', timed, 'mmdet HourglassNet', {k: flops for k in steps}, mem,
                   setting=f"CornerNet HG-104{' (small)' if small else ''}, {size}x{size}, "
                   f'batch {batch}, fp32, training step (fwd, MSE on both stacks, bwd, Adam)',
                   target=dict(contender='ours (NCHW)', max_ratio=0.90,
                               cp_contender='ours, with_cp=True (per unit, NCHW)',
                               cp_max_ratio=1.35,
                               cp_max_memory_ratio=0.40))
