"""Evaluate a checkpoint on its config's test set seen in fixed views.

Every test photo rotated about its person by +-45, +-90 and 180 degrees, and with the person's
box scaled by 0.7 and 1.4 (``hourglass_plugin.datasets.PhotoView`` inserted after the test
pipeline's ``LoadImage``), each view one run of the config's test loop (flip test, decoding and
metrics as configured). Prints a markdown table, a row a view and the rotated views' mean, and
writes it with every metric to <work_dir>/views.md and views.json.
"""
import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import apis, cli


def parse_args():
    parser = cli.tool_parser(__doc__.split('\n\n')[0], cli.add_config, cli.add_checkpoint,
                             cli.add_work_dir, cli.add_cfg_options)
    return parser.parse_args()


def main(args) -> None:
    apis.test_views(cli.load_config(args.config, args.cfg_options, args.work_dir),
                    args.checkpoint)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
