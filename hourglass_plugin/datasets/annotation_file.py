"""The annotation file a dataset config reads, checked before anything is built: a missing one
is a single line naming the file and, where the dataset's meta declares it
(``annotations_from``), the command that makes it from the dataset's own release.

mmpose's datasets ``assert`` that the file exists and stop with a traceback deep inside the
Runner; a user who follows the README out of order (training the LSP config before
``lsp2coco.py`` has run) sees this line instead.
"""
import os.path as osp
from typing import Any, Optional


def annotation_file(dataset_cfg: Any) -> Optional[str]:
    """The path a dataset config's ``ann_file`` names (joined to its ``data_root`` as mmengine's
    ``BaseDataset`` does), or None when it names none."""
    ann_file = dataset_cfg.get('ann_file')
    if not isinstance(ann_file, str) or not ann_file:
        return None
    data_root = dataset_cfg.get('data_root') or ''
    return ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)


def check_annotation_file(dataset_cfg: Any, key: str) -> None:
    """Raise FileNotFoundError naming ``key`` (e.g. ``train_dataloader.dataset``), the missing
    file and the command that makes it, if the file ``dataset_cfg`` reads does not exist."""
    path = annotation_file(dataset_cfg)
    if path is None or osp.isfile(path):
        return
    message = f'{key}.ann_file: annotation file {path} does not exist'
    command = _declared_command(dataset_cfg.get('metainfo'))
    if isinstance(command, str):
        data_root = dataset_cfg.get('data_root') or osp.dirname(path)
        message += f'; make it with: {command.format(data_root=data_root)}'
    raise FileNotFoundError(message)


def _declared_command(metainfo: Any) -> Optional[str]:
    """``annotations_from`` of a dataset's meta, given inline or as ``dict(from_file=...)``."""
    if not isinstance(metainfo, dict):
        return None
    if isinstance(metainfo.get('from_file'), str) and osp.isfile(metainfo['from_file']):
        from mmengine.config import Config
        metainfo = Config.fromfile(metainfo['from_file']).get('dataset_info') or {}
    command = metainfo.get('annotations_from')
    return command if isinstance(command, str) else None
