"""mmpose's ``MpiiDataset`` that refuses bad input when it is built, not when a record is drawn."""
import os.path as osp
from typing import Any, List, Tuple

from mmpose.datasets import MpiiDataset

from ..errors import DatasetError
from .annotation_check import check_head_boxes, check_image_files, check_records, load_json
from .image_check import image_file_problems


class CheckedMpiiDataset(MpiiDataset):
    """``MpiiDataset`` (same arguments, same samples) that validates its files when built.

    Before mmpose loads the annotations, every record is checked (keys, 16 finite joints,
    finite center, scale > 0, numeric image name), every image it names must exist and look whole
    (signature and end marker, see :mod:`.image_check`), and the head-box file, if set, must hold
    one box per record. At MPII's size this is cheap: on the 2-core dev machine, 24k records took
    0.5 s and 26k image files (in the page cache) 0.5 s; from a cold disk the image reads take
    what the disk needs for 2 small reads per file. Anything wrong
    raises a :class:`DatasetError` (``FileNotFoundError`` for a missing annotation or head-box
    file) naming the file, the record index and the value. Joints outside the image are legal.

    An image that passes those checks but cannot be decoded is named when it is loaded.
    """

    #: the tools build it while preparing a run, so that a bad file stops the run before
    #: anything is written (``hourglass_plugin.run.checks.check_dataset``)
    validates_on_build = True

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        self._validate_files()
        return super()._load_annotations()

    def _validate_files(self) -> None:
        """Raise on the first bad record, image or head box (see the class docstring)."""
        ann_file = self.ann_file
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'annotation file {ann_file} does not exist')
        records = load_json(ann_file)
        check_records(records, self.metainfo['num_keypoints'], ann_file)
        if self.headbox_file:
            check_head_boxes(self.headbox_file, len(records), ann_file)
        images = {r['image']: osp.join(self.data_prefix['img'], r['image']) for r in records}
        check_image_files(image_file_problems(images.values()), records, images, ann_file)

    def prepare_data(self, idx: int) -> Any:
        """mmpose's ``prepare_data``; an image that cannot be decoded is named in one line."""
        try:
            return super().prepare_data(idx)
        except Exception as error:
            path = self.get_data_info(idx)['img_path']
            if _decodes(path):
                raise  # not the image's fault
            raise DatasetError(f'image {path} (sample {idx} of {self.ann_file}) cannot be '
                               'decoded: it is corrupt inside though its signature and end '
                               'marker are there') from error


def _decodes(path: str) -> bool:
    """Whether ``path`` decodes as an image (the way mmcv's LoadImageFromFile reads it)."""
    import mmcv
    from mmengine import fileio
    try:
        return mmcv.imfrombytes(fileio.get(path)) is not None
    except Exception:
        return False
