"""What the demo prints and draws besides mmpose's own pictures: the PCK tables and every
stack's heatmaps (``python -m tools.demo``)."""
import os.path as osp

from hourglass_plugin.visualization import write_image
from .stack_heatmaps import draw_stack_heatmaps

#: MpiiPCKAccuracy's keys, in the order of the paper's tables
PCKH_ROWS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle')
#: TorsoPCKAccuracy's joint kinds on LSP, in the order of LSP's tables
LSP_ROWS = ('head_top', 'neck', 'shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle')


def print_pckh_table(metrics: dict) -> None:
    print(f"{'joint':<10}{'PCKh@0.5':>10}")
    for row in PCKH_ROWS:
        print(f'{row:<10}{metrics[f"{row} PCK"]:>10.2f}')
    print(f"{'Mean':<10}{metrics['PCK']:>10.2f}")
    print(f"{'Mean@0.1':<10}{metrics['PCK@0.1']:>10.2f}")


def print_lsp_table(metrics: dict) -> None:
    print(f"{'joint':<10}{'PCK@0.2':>10}{'PCK@0.1':>10}")
    for row in LSP_ROWS + ('Mean', ):
        key = '' if row == 'Mean' else f'/{row}'
        print(f"{row:<10}{metrics[f'PCK@0.2{key}']:>10.2f}{metrics[f'PCK@0.1{key}']:>10.2f}")


def draw_heatmaps(model, dataset, out_dir: str, num_images: int) -> list:
    """Per-stack, per-joint heatmaps of the first ``num_images`` images of ``dataset``, as the
    network saw them, drawn into ``out_dir``; the files written."""
    import cv2
    import torch
    from mmengine.dataset import pseudo_collate
    model.eval()
    names = [dataset.metainfo['keypoint_id2name'][i]
             for i in range(dataset.metainfo['num_keypoints'])]
    mean = model.data_preprocessor.mean.view(-1).numpy()
    std = model.data_preprocessor.std.view(-1).numpy()
    written = []
    for index in range(min(num_images, len(dataset))):
        batch = model.data_preprocessor(pseudo_collate([dataset[index]]), False)
        with torch.no_grad():
            stacks = model(batch['inputs'], None, mode='tensor')  # num_stacks x (1, K, h, w)
        crop = batch['inputs'][0].permute(1, 2, 0).numpy() * std + mean  # (H, W, 3) RGB
        crop = cv2.cvtColor(crop.clip(0, 255).astype('uint8'), cv2.COLOR_RGB2BGR)
        picture = draw_stack_heatmaps(crop, [s[0] for s in stacks], names)
        name = osp.splitext(osp.basename(batch['data_samples'][0].img_path))[0]
        out_file = osp.join(out_dir, f'heatmaps_{name}.png')
        write_image(out_file, picture)
        written.append(out_file)
    return written
