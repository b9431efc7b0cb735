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
import io
import json
import os

import torch

import hourglass_plugin  # noqa: F401  safe checkpoint loading
from hourglass_plugin import cli
from hourglass_plugin.checkpoint import atomic_write, load_checkpoint_safely
from hourglass_plugin.conversion import SOURCES, convert_state_dict
from hourglass_plugin.conversion.keypoints import KEYPOINT_SETS, dataset_meta, keypoint_set
from hourglass_plugin.errors import CheckpointError


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
    checkpoint = load_checkpoint_safely(args.src, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
        else None
    if not isinstance(state_dict, dict) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f'{args.src} holds no state dict of tensors (top-level keys: '
                              f'{list(checkpoint)[:10] if isinstance(checkpoint, dict) else []})')
    converted, backbone_cfg, report = convert_state_dict(state_dict, args.source)
    keypoints = keypoint_set(backbone_cfg, args.source, args.keypoints)
    meta = dict(backbone_cfg=backbone_cfg, converted_from=os.path.abspath(args.src),
                source=args.source)
    if keypoints is not None:
        meta['dataset_meta'] = dataset_meta(keypoints)
    out = dict(state_dict=converted, meta=meta)
    buffer = io.BytesIO()
    torch.save(out, buffer)
    atomic_write(args.out, buffer.getvalue())  # never a half-written checkpoint, nor a temporary
    print(f'converted {len(converted)} tensors from {args.src} ({args.source}, backbone prefix '
          f"{report['prefix']!r}) to {args.out}")
    if report['dropped_unused']:
        print(f"dropped {len(report['dropped_unused'])} skip convs that the source never ran")
    if keypoints is not None:
        print(f"keypoints: {keypoints} ({meta['dataset_meta']['num_keypoints']} joints, "
              'meta.dataset_meta)')
    print('backbone config:\n' + json.dumps(backbone_cfg, indent=4))


if __name__ == '__main__':
    cli.run_main(main, parse_args)
