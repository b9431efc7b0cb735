"""Export a checkpoint's network to ONNX, checked against PyTorch; INT8 to OpenVINO IR."""
import os.path as osp
import re
from typing import Optional, Sequence

from mmengine.config import Config

from ..errors import ConfigError, UsageError


def export_model(cfg: Config, checkpoint: str, out: Optional[str] = None,
                 shape: Optional[Sequence[int]] = None, image: Optional[str] = None,
                 all_stacks: bool = False, fixed_batch: Optional[int] = None,
                 check_backend: str = 'onnxruntime', precision: str = 'fp32',
                 calib_images: int = 32, compare_images: int = 200) -> dict:
    """Export ``checkpoint``'s network to ``out`` (default: the checkpoint's name with
    ``.onnx``), kept only when ``check_backend`` computes what PyTorch computes on ``image``
    (default: the first image of the config's test set) and its mirror image.

    ``precision='int8'`` (pose configs) then quantizes the graph with NNCF, calibrated on
    ``calib_images`` crops of the training set, into ``<out>_int8.xml``/``.bin``, and compares
    it with fp32 on ``compare_images`` held-out test crops. Returns the parity report, with
    ``'int8'``: the comparison.
    """
    from ..cli import read_image
    from ..deploy import is_pose_model
    from ..deploy.checked_export import export_checked, first_test_image
    from ..deploy.export import PARITY_TOLERANCE
    from ..run import check_input_size, input_size_from_config, prepare_run
    for name, count in (('calib_images', calib_images), ('compare_images', compare_images)):
        if count < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {count}")
    input_size = input_size_from_config(cfg, shape)
    picture = read_image(image or first_test_image(cfg))  # (H, W, 3) BGR
    out = out or osp.splitext(checkpoint)[0] + '.onnx'
    model = prepare_run(cfg, 'model', checkpoint=checkpoint).model.eval()
    check_input_size(model, input_size)
    calibration = None
    if precision == 'int8':  # before anything is written: a pose config, its training set
        if not is_pose_model(cfg.model):
            raise ConfigError(f'--precision int8 quantizes pose configs, calibrated on their '
                              f'training set; {cfg.filename} is a detection config')
        from ..deploy.quantize import pose_dataset, spread
        train_set = pose_dataset(cfg, 'train')
        calibration = (train_set, spread(calib_images, len(train_set)))
    print(f'exporting {cfg.filename} with {checkpoint} at {input_size[0]}x{input_size[1]} '
          f'(batch {fixed_batch or "dynamic"}) ...', flush=True)
    report = export_checked(model, out, input_size, picture, all_stacks, fixed_batch,
                            check_backend)
    print(f"{out}: outputs {', '.join(report['names'])}; {check_backend} vs PyTorch on "
          f"{image or 'the first test image'} and its mirror image: max|diff| "
          f"{report['max_abs_diff']:.2e} ({report['max_rel_diff']:.1e} of the output range, "
          f'tolerance {PARITY_TOLERANCE:g})')
    if 'keypoint_shift' in report:
        print(f"decoded keypoints (last stack): largest shift {report['keypoint_shift']:.2e} "
              'heatmap pixels')
    if calibration is not None:
        report['int8'] = quantize_model(cfg, model, out, *calibration, compare_images)
    return report


def quantize_model(cfg: Config, model, onnx_path: str, train_set, indices: Sequence[int],
                   compare_images: int) -> dict:
    """INT8 IR beside ``onnx_path``, calibrated on ``indices`` of ``train_set``; compared with
    fp32 on ``compare_images`` held-out test crops (the comparison is returned)."""
    from ..deploy.quantize import calibration_inputs, compare_int8, quantize_to_openvino
    out_xml = onnx_path[:-len('.onnx')] + '_int8.xml'
    print(f'quantizing to INT8 (NNCF), calibrated on {len(indices)} training crops ...',
          flush=True)
    quantize_to_openvino(onnx_path, calibration_inputs(model, train_set, indices), out_xml)
    result = compare_int8(cfg, onnx_path, out_xml, compare_images)
    key = next((k for k in result['fp32'] if re.fullmatch(r'(\w+/)?PCK(@[\d.]+)?', k)),
               next(iter(result['fp32'])))
    print(f"{out_xml}: INT8 vs fp32 on {result['num_images']} held-out test crops: keypoints "
          f"move {result['mean_shift_px']:.2f} px on average (at most "
          f"{result['max_shift_px']:.1f}); {key} fp32 {result['fp32'][key]:.2f}, "
          f"INT8 {result['int8'][key]:.2f}")
    return result
