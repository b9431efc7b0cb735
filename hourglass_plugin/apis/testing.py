"""Evaluate a checkpoint (PyTorch or an exported graph), benchmark it, count a model's size."""
import copy
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config

from ..errors import UsageError
from .network import check_source, network_source


def test_model(cfg: Config, checkpoint: str, backend: str = 'pytorch', precision: str = 'fp32',
               amp: bool = False, out: Optional[str] = None, evaluate: bool = True,
               benchmark: Optional[dict] = None) -> dict:
    """Evaluate ``checkpoint`` on ``cfg``'s test set and/or benchmark it; print the metrics
    table and the benchmark table.

    Args:
        cfg: the run's config (not changed).
        checkpoint: a ``.pth`` for ``backend='pytorch'``, else a graph exported by
            :func:`~hourglass_plugin.apis.export_model` that runs the network (``ExportedGraph``);
            data preprocessing, flip test, decoding and metrics stay the config's.
        precision: what the engine computes in (``bf16``: OpenVINO's setting).
        amp: evaluate the PyTorch model under bf16 autocast.
        out: a ``.pkl`` file for every prediction (mmengine's ``DumpResults``).
        evaluate: False benchmarks without evaluating (needs no dataset).
        benchmark: ``dict(shape=(H, W) or None, batch_size, repeats, warmup)``: parameters,
            GMACs, throughput, latency and memory of the forward, also written to
            ``<work_dir>/benchmark.json``.

    Returns ``dict(metrics=..., benchmark=...)`` (None for what was not asked).
    """
    from ..engine import TestProgressBarHook, use_amp_in_test
    from ..model_benchmark import benchmark_model, check_run_counts, format_table, write_json
    from ..run import (build_model, build_runner, init_distributed, input_size_from_config,
                       prepare_run)
    if benchmark and cfg.get('launcher', 'none') != 'none':
        # a benchmark times one process; several would compete for the same cores
        raise UsageError(f'--benchmark needs --launcher none, got --launcher {cfg.launcher}')
    check_source(checkpoint, backend, precision)  # the file and the settings, first
    cfg = copy.deepcopy(cfg)
    if amp:
        use_amp_in_test(cfg)
    if out is not None:
        dump = dict(type='DumpResults', out_file_path=out)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = [*evaluators, dump] if isinstance(evaluators, (list, tuple)) else [
            evaluators, dump]
    if benchmark:  # before anything slow: a config without an input size fails here
        input_size = input_size_from_config(cfg, benchmark.get('shape'))
        check_run_counts(benchmark['batch_size'], benchmark['repeats'], benchmark['warmup'])
    network_cfg = cfg
    cfg, weights = network_source(cfg, checkpoint, backend, precision)
    init_distributed(cfg)
    # model, checkpoint (it must fit the model) and test data, before anything is written
    prepared = prepare_run(cfg, 'test' if evaluate else 'model', checkpoint=weights)
    result = dict(metrics=None, benchmark=None)
    work_dir = cfg.work_dir
    if evaluate:
        runner = build_runner(cfg, prepared)
        runner.register_hook(TestProgressBarHook())
        result['metrics'] = runner.test()
        print_metrics(result['metrics'])
        work_dir = runner.work_dir
    if benchmark:
        # an exported graph is counted (parameters, GMACs) on the config's PyTorch network
        counted = None if backend == 'pytorch' else build_model(network_cfg)
        result['benchmark'] = benchmark_model(
            prepared.model, input_size, batch_size=benchmark['batch_size'],
            repeats=benchmark['repeats'], warmup=benchmark['warmup'], counted=counted)
        print(format_table(result['benchmark']))
        path = osp.join(work_dir, 'benchmark.json')
        write_json(result['benchmark'], path, config=cfg.filename, checkpoint=checkpoint)
        print(f'benchmark written to {path}')
    return result


def print_metrics(metrics: dict) -> None:
    """The evaluator's metrics as a two-column table (the logger has them on one long line)."""
    if not metrics:
        return
    width = max(len(name) for name in metrics)
    print(f'{"metric":<{width}} | value')
    print('-' * width + '-+-' + '-' * 10)
    for name, value in metrics.items():
        shown = f'{value:.4f}' if isinstance(value, float) else str(value)
        print(f'{name:<{width}} | {shown}')


def describe_model(cfg: Config, shape: Optional[Sequence[int]] = None) -> dict:
    """Parameters (whole model, backbone) and backbone GMACs per image of ``cfg``'s model at
    ``shape`` (H, W; default the codec's input size), printed and returned; no checkpoint."""
    from ..model_benchmark import count_macs
    from ..run import check_input_size, input_size_from_config, prepare_run
    height, width = input_size_from_config(cfg, shape)
    model = prepare_run(cfg, 'model').model.eval()
    check_input_size(model, (height, width))
    info = dict(input=(3, height, width),
                parameters=sum(p.numel() for p in model.parameters()),
                backbone_parameters=sum(p.numel() for p in model.backbone.parameters()),
                backbone_macs=count_macs(model.backbone, height, width))
    print(f'config: {cfg.filename}')
    print(f'input: 3x{height}x{width}')
    print(f"parameters (whole model): {info['parameters']:,}")
    print(f"parameters (backbone): {info['backbone_parameters']:,}")
    print(f"backbone GMACs per image: {info['backbone_macs'] / 1e9:.2f} "
          f"({info['backbone_macs']} multiply-adds: the \"FLOPs\" of OpenMMLab's metafiles)")
    return info
