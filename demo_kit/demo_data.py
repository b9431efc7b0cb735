"""The demo's data: the synthetic people rendered (or a dataset of the user's own used as it is),
or Leeds Sports Pose converted from its release (``python -m tools.demo``)."""
import argparse
import os.path as osp
import subprocess
import sys
import time

from .synthetic_mpii import META_FILE, is_complete, render_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: where LSP is converted to (the LSP config's data_root)
LSP_CONVERTED = osp.join('data', 'lsp')


def make_lsp_data(args: argparse.Namespace) -> None:
    """Point ``args.data_root`` at LSP in mmpose's files: ``--data-root`` itself if it holds them,
    else ``data/lsp``, converted there from the release in ``--data-root`` unless done before."""
    def converted(root):
        return all(osp.isfile(osp.join(root, 'annotations', f'lsp_{split}.json'))
                   for split in ('train', 'val', 'test'))
    if converted(args.data_root):
        print(f'{args.data_root} holds LSP in mmpose\'s files: used as it is')
        return
    joints = osp.join(args.data_root, 'joints.mat')
    if not osp.isfile(joints):
        raise FileNotFoundError(f'--data-root {args.data_root} holds neither LSP as released '
                                '(joints.mat, images/) nor annotations/lsp_{train,val,test}.json')
    if converted(LSP_CONVERTED) and osp.getmtime(osp.join(
            LSP_CONVERTED, 'annotations', 'lsp_train.json')) >= osp.getmtime(joints):
        print(f'{LSP_CONVERTED} holds LSP converted: nothing to convert')
    else:
        command = [sys.executable, osp.join(REPO, 'tools', 'dataset_converters', 'lsp2coco.py'),
                   args.data_root, '--out', LSP_CONVERTED]
        if subprocess.run(command).returncode != 0:
            from hourglass_plugin.errors import DatasetError
            raise DatasetError(f'{args.data_root}: LSP could not be converted (message above)')
    args.data_root = LSP_CONVERTED


def make_data(args: argparse.Namespace) -> None:
    """Render the synthetic set into ``--data-root`` unless it is there already, or unless the
    root holds a dataset of the user's own (MPII json without our meta file): that one is used as
    it is and nothing in it is written."""
    own = [osp.join(args.data_root, 'annotations', f'mpii_{split}.json')
           for split in ('train', 'val')]
    if any(osp.isfile(path) for path in own) and not osp.isfile(
            osp.join(args.data_root, META_FILE)):
        missing = [path for path in own + [osp.join(args.data_root, 'annotations',
                                                    'mpii_gt_val.mat')] if not osp.isfile(path)]
        if missing:
            raise FileNotFoundError(
                f'{args.data_root} holds a dataset that the demo did not render, but not all of '
                f'it: missing {", ".join(missing)}')
        print(f'{args.data_root} holds a dataset of your own (no {META_FILE}): used as it is')
        return
    if is_complete(args.data_root, args.num_train, args.num_val, args.seed):
        print(f'{args.data_root} is complete (seed {args.seed}): nothing to render')
        return
    start = time.perf_counter()
    summary = render_dataset(args.data_root, args.num_train, args.num_val, seed=args.seed)
    print(f"rendered {summary['num_train']} train + {summary['num_val']} val images into "
          f'{args.data_root} in {time.perf_counter() - start:.1f} s')
