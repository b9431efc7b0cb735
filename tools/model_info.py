"""Parameters and GMACs of a config's model: ``python tools/model_info.py CONFIG [--shape H W]``.

No checkpoint needed (``tools/test.py CONFIG CKPT --benchmark-only`` also times the model).
GMACs are counted by mmengine's ``get_model_complexity_info`` (one multiply-add = one "flop" in
its counting) for one image of the config's input size.
"""
import hourglass_plugin  # noqa: F401  registrations
from hourglass_plugin import apis, cli


def parse_args():
    return cli.tool_parser(__doc__.split('\n\n')[0], cli.add_config, cli.add_cfg_options,
                           cli.add_shape).parse_args()


def main(args) -> None:
    apis.describe_model(cli.load_config(args.config, args.cfg_options), args.shape)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
