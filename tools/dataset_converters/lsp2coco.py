"""Convert Leeds Sports Pose (the original release) to mmpose's COCO-style top-down json.

    python tools/dataset_converters/lsp2coco.py SRC [--out DST] [--val 100] [--margin 0.05]

SRC is LSP as released (http://sam.johnson.io/research/lsp.html): ``images/im0001.jpg`` ...
``im2000.jpg`` and ``joints.mat`` (3 x 14 x 2000: x, y and a flag that is 0 where the joint is
visible, the release's inverted convention; every joint is annotated, occluded ones included).
Writes the standard split, the training photos im0001-im1000 and ``DST/annotations/lsp_test.json``
(im1001-im2000). ``--val N`` holds N of the training photos out as ``lsp_val.json``, evenly spaced
(every tenth for the default 100: im0010, im0020, ... im1000), for choosing a recipe without looking
at the test set; ``lsp_train.json`` has the rest. One person an image, keypoints in LSP's own
order (``configs/_base_/datasets/lsp.py``) with COCO's visibility flags (2 visible, 1 occluded but
labelled), 1-based pixel coordinates turned 0-based. The person box (LSP has none) is the tight box
of the 14 joints widened on every side by ``--margin`` times its width and height. ``DST/images``
links to ``SRC/images`` unless SRC is DST. Nothing is written unless every record and image is
good; a bad one is named in one line.
"""
from hourglass_plugin import cli
from hourglass_plugin.datasets.lsp_release import TRAIN_IMAGES, convert


def parse_args():
    parser = cli.tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('src', help='LSP as released: images/ and joints.mat')
    parser.add_argument('--out', default='data/lsp', metavar='DST',
                        help='where annotations/lsp_{train,val,test}.json are written (default '
                        'data/lsp, where the LSP config reads it)')
    parser.add_argument('--margin', type=float, default=0.05,
                        help='person box: the joints\' tight box widened by this fraction of its '
                        'width and height on every side (default 0.05)')
    parser.add_argument('--val', type=int, default=100, metavar='N',
                        help='training photos held out as lsp_val.json, evenly spaced (default '
                        '100: every tenth); 0 writes no validation split')
    args = parser.parse_args()
    if not 0 <= args.val < TRAIN_IMAGES:
        parser.error(f'--val must be in [0, {TRAIN_IMAGES}), got {args.val}')
    if not 0 <= args.margin < 1:
        parser.error(f'--margin must be in [0, 1), got {args.margin}')
    return args


def main(args) -> None:
    convert(args.src, args.out, args.margin, args.val)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
