"""The main job (``make demo``), for now a smoke run of the pose model built from its config.

Builds the 2-stack Newell model from configs/stacked_hourglass/ through mmpose's registry, runs
one forward pass on a 256x256 input and prints each stack's output shape and the parameter
count. (The pose-training issue replaces this with training on the embedded synthetic MPII.)
"""
import argparse
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import hourglass_plugin  # noqa: F401
from hourglass_plugin.cli import run_main

DEFAULT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                   'stacked_hourglass', 'td-hm_stacked-hourglass-hg2_1xb6-100e_mpii-256x256.py')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    from mmpose.registry import MODELS
    model = MODELS.build(cfg.model).eval()
    height, width = cfg.codec['input_size'][1], cfg.codec['input_size'][0]
    x = torch.randn(1, 3, height, width)
    start = time.perf_counter()
    with torch.no_grad():
        outs = model(x, None, mode='tensor')
    elapsed = time.perf_counter() - start
    print(f'config: {args.config}')
    print(f'model: {type(model).__name__} / {type(model.backbone).__name__} / '
          f'{type(model.head).__name__}')
    print(f'parameters: {sum(p.numel() for p in model.parameters()):,}')
    for i, out in enumerate(outs):
        print(f'stack {i}: heatmaps {tuple(out.shape)}')
    print(f'one forward pass of 1x3x{height}x{width}: {elapsed:.2f} s on '
          f'{torch.get_num_threads()} CPU threads')


if __name__ == '__main__':
    run_main(main)
