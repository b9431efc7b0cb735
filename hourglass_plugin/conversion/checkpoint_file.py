"""A published hourglass checkpoint file converted into one for ``StackedHourglass``."""
import io
import json
import os
from typing import Optional

import torch

from ..checkpoint import atomic_write, load_checkpoint_safely
from ..errors import CheckpointError
from .convert import convert_state_dict
from .keypoints import dataset_meta, keypoint_set


def convert_checkpoint_file(src: str, out: str, source: str,
                            keypoints: Optional[str] = None) -> dict:
    """Convert the checkpoint at ``src``, written by ``source`` (``mmdet``, ``mmpose``,
    ``princeton``), into ``out``: ``state_dict``, ``meta.backbone_cfg`` and, for a pose model,
    ``meta.dataset_meta`` of the keypoint set (``keypoints``: read off the weights where None;
    ``'none'`` for a detection backbone). The weights are loaded into a freshly built
    ``StackedHourglass`` (strict) before ``out`` is written whole (a failed write leaves it as
    it was). Prints what was converted and the backbone config; returns ``meta``."""
    checkpoint = load_checkpoint_safely(src, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
        else None
    if not isinstance(state_dict, dict) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f'{src} holds no state dict of tensors (top-level keys: '
                              f'{list(checkpoint)[:10] if isinstance(checkpoint, dict) else []})')
    converted, backbone_cfg, report = convert_state_dict(state_dict, source)
    keypoint_name = keypoint_set(backbone_cfg, source, keypoints)
    meta = dict(backbone_cfg=backbone_cfg, converted_from=os.path.abspath(src), source=source)
    if keypoint_name is not None:
        meta['dataset_meta'] = dataset_meta(keypoint_name)
    buffer = io.BytesIO()
    torch.save(dict(state_dict=converted, meta=meta), buffer)
    atomic_write(out, buffer.getvalue())  # never a half-written checkpoint, nor a temporary
    print(f'converted {len(converted)} tensors from {src} ({source}, backbone prefix '
          f"{report['prefix']!r}) to {out}")
    if report['dropped_unused']:
        print(f"dropped {len(report['dropped_unused'])} skip convs that the source never ran")
    if keypoint_name is not None:
        print(f"keypoints: {keypoint_name} ({meta['dataset_meta']['num_keypoints']} joints, "
              'meta.dataset_meta)')
    print('backbone config:\n' + json.dumps(backbone_cfg, indent=4))
    return meta
