"""Parameters and GMACs of a config's model: ``python tools/model_info.py CONFIG [--shape H W]``.

No checkpoint needed (``tools/test.py CONFIG CKPT --benchmark-only`` also times the model).
GMACs are counted by mmengine's ``get_model_complexity_info`` (one multiply-add = one "flop" in
its counting) for one image of the config's input size.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import init_default_scope

import hourglass_plugin  # noqa: F401
from hourglass_plugin.perf.model_benchmark import count_macs, input_size_from_config
from hourglass_plugin.cli import run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: the codec input size of a pose config)')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    height, width = input_size_from_config(cfg, args.shape)
    scope = cfg.get('default_scope', 'mmpose')
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model).eval()
    print(f'config: {args.config}')
    print(f'input: 3x{height}x{width}')
    print(f'parameters (whole model): {sum(p.numel() for p in model.parameters()):,}')
    print(f'parameters (backbone): {sum(p.numel() for p in model.backbone.parameters()):,}')
    macs = count_macs(model.backbone, height, width)
    print(f'backbone GMACs per image: {macs / 1e9:.2f} ({macs} multiply-adds: the "FLOPs" of '
          "OpenMMLab's metafiles)")


if __name__ == '__main__':
    run_main(main)
