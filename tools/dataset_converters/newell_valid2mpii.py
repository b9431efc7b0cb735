"""Convert Newell et al.'s MPII validation set (``valid.h5``) to mmpose's MPII validation files.

    python tools/dataset_converters/newell_valid2mpii.py VALID_H5 --out DST [--preds PREDS_H5]

``valid.h5`` (pose-hg-demo's annotation file of the 2958 validation people the paper evaluates
on) holds ``imgname``, ``center``, ``scale``, ``part`` (N, 16, 2; MATLAB's 1-based pixels, 0 where
a joint is not labelled), ``visible`` and ``normalize``, the head size PCKh divides by. Writes

- ``DST/annotations/mpii_val.json``: mmpose's MPII records (``joints_vis`` 1 for every labelled
  joint, occluded ones included, as in MPII's own evaluation);
- ``DST/annotations/mpii_gt_val.mat``: the head boxes mmpose's ``MpiiDataset`` reads, squares
  whose ``0.6 * diagonal`` (``MpiiPCKAccuracy``'s head size) equals ``normalize``.

With ``--preds`` (an h5 file with ``preds`` (N, 16, 2) in the same 1-based frame, such as the
authors' ``valid-ours.h5``), also ``DST/annotations/mpii_val_preds.npy``: those predictions
0-based, as mmpose's models predict them (``MpiiPCKAccuracy`` adds the 1 back).
"""
from hourglass_plugin import cli
from hourglass_plugin.datasets.newell_valid import convert


def parse_args():
    parser = cli.tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('valid_h5', help="pose-hg-demo's valid.h5")
    parser.add_argument('--out', required=True, metavar='DST',
                        help='where annotations/mpii_val.json and mpii_gt_val.mat go')
    parser.add_argument('--preds', help='predictions to convert too (valid-ours.h5)')
    args = parser.parse_args()
    return args


def main(args) -> None:
    convert(args.valid_h5, args.out, args.preds)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
