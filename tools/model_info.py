"""Parameters and GMACs of a config's model: ``python tools/model_info.py CONFIG [--shape H W]``.

No checkpoint needed (``tools/test.py CONFIG CKPT --benchmark-only`` also times the model).
GMACs are counted by mmengine's ``get_model_complexity_info`` (one multiply-add = one "flop" in
its counting) for one image of the config's input size.
"""
import hourglass_plugin  # noqa: F401  registrations
from hourglass_plugin import cli


def parse_args():
    return cli.tool_parser(__doc__.split('\n\n')[0], cli.add_config, cli.add_cfg_options,
                           cli.add_shape).parse_args()


def main(args) -> None:
    from hourglass_plugin.model_benchmark import count_macs
    from hourglass_plugin.run import check_input_size, input_size_from_config, prepare_run
    cfg = cli.load_config(args.config, args.cfg_options)
    height, width = input_size_from_config(cfg, args.shape)
    model = prepare_run(cfg, 'model').model.eval()
    check_input_size(model, (height, width))
    print(f'config: {args.config}')
    print(f'input: 3x{height}x{width}')
    print(f'parameters (whole model): {sum(p.numel() for p in model.parameters()):,}')
    print(f'parameters (backbone): {sum(p.numel() for p in model.backbone.parameters()):,}')
    macs = count_macs(model.backbone, height, width)
    print(f'backbone GMACs per image: {macs / 1e9:.2f} ({macs} multiply-adds: the "FLOPs" of '
          "OpenMMLab's metafiles)")


if __name__ == '__main__':
    cli.run_main(main, parse_args)
