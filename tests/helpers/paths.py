"""Where the tests find the repository's configs and tools and the data they read."""
import os
import os.path as osp

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO = osp.dirname(TESTS)
CONFIGS = osp.join(REPO, 'configs')
TOOLS = osp.join(REPO, 'tools')
DATA = osp.join(TESTS, 'data')
#: ``../shared/data`` beside the repository: LSP, Newell's MPII validation (absent elsewhere)
SHARED_DATA = osp.join(REPO, '..', 'shared', 'data')

#: the 5 real MPII images of tests/data and their mmpose annotations
SAMPLE = osp.join(DATA, 'mpii_sample')
SAMPLE_ANNOTATIONS = osp.join(SAMPLE, 'annotations.json')
#: a 1280x720 photo of one person from the sample
IMAGE = osp.join(SAMPLE, 'images', '004645041.jpg')

#: the tiny 2-stack pose config on the 5 sample images, 64x64 crops
TINY = osp.join(DATA, 'configs', 'tiny_hg2_mpii-sample-64x64.py')
#: TINY seeded, 3 iterations per epoch, a checkpoint after every epoch (the kill tests)
RESUME_CFG = osp.join(DATA, 'configs', 'resume_hg2_mpii-sample-64x64.py')
#: the demo's config: 2 stacks of 128 features on synthetic MPII, 128x128 crops
DEMO = osp.join(CONFIGS, 'stacked_hourglass',
                'td-hm_stacked-hourglass-hg2-f128_1xb16-1600it_synthetic-mpii-128x128.py')
#: a small 2-stack hourglass at 128x128 that overfits the 5 sample images
OVERFIT = osp.join(DATA, 'configs', 'overfit_hg2_mpii-sample-128x128.py')
#: the demo's network at 64x64 crops, seeded: the trained model the engine tests share
DEMO_64 = osp.join(DATA, 'configs', 'demo_hg2_synthetic-mpii-64x64.py')
#: the LSP config (COCO-style annotations made by tools/dataset_converters/lsp2coco.py)
LSP_CONFIG = osp.join(CONFIGS, 'stacked_hourglass',
                      'td-hm_stacked-hourglass-hg2-f128_1xb16-8700it_lsp-128x128.py')
#: a tiny CornerNet on the 4 COCO sample images
DET = osp.join(CONFIGS, 'cornernet',
               'cornernet_stacked-hourglass-tiny_1xb2-2e_coco-sample-128x128.py')


def checkpoint_files(work_dir) -> list:
    """The checkpoint files of ``work_dir``, sorted (a write in progress is a hidden temporary,
    ``.<name>.<pid>.tmp.pth``, and not one of them)."""
    return sorted(n for n in os.listdir(work_dir) if n.endswith('.pth') and not n.startswith('.'))
