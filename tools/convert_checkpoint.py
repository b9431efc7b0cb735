"""Convert a published hourglass checkpoint into one for ``StackedHourglass``.

    python tools/convert_checkpoint.py SRC --out DST --source {mmdet,mmpose,princeton}
                                       [--keypoints {mpii,coco,none}]

Sources: mmdet's or mmpose's ``HourglassNet`` (a bare backbone state dict, or a whole model such
as mmdet's CornerNet, whose ``backbone.*`` keys are converted and other keys kept), and
princeton-vl/pytorch_stacked_hourglass ``PoseNet`` checkpoints. The architecture is read off the
weights; the converted weights are loaded into a freshly built ``StackedHourglass`` (strict)
before anything is written, and the backbone config to put in your config is printed. DST gets
``state_dict``, ``meta.backbone_cfg`` and, for a pose model, ``meta.dataset_meta``: mmpose's
metadata of the keypoint set the weights predict (16 heatmaps: MPII, 17: COCO; --keypoints
where the weights cannot tell, e.g. an mmpose backbone), which mmpose's ``init_model`` and
``MMPoseInferencer`` read for keypoint names, flip pairs and skeleton. DST is written to a
temporary file and renamed into place (``hourglass_plugin.checkpoint.atomic_write``: a failed write
leaves DST as it was).
"""
import hourglass_plugin  # noqa: F401  safe checkpoint loading
from hourglass_plugin import cli
from hourglass_plugin.conversion import SOURCES, convert_checkpoint_file
from hourglass_plugin.conversion.keypoints import KEYPOINT_SETS


def parse_args():
    parser = cli.tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('src', help='source checkpoint')
    parser.add_argument('--out', required=True, metavar='DST',
                        help='where to write the converted checkpoint')
    parser.add_argument('--source', required=True, choices=sorted(SOURCES),
                        help='which code base wrote SRC')
    parser.add_argument('--keypoints', choices=sorted(KEYPOINT_SETS) + ['none'],
                        help='the keypoint set the weights were trained on (default: read off '
                        'the weights; none for a detection backbone)')
    return parser.parse_args()


def main(args) -> None:
    convert_checkpoint_file(args.src, args.out, args.source, args.keypoints)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
