"""The main job's whole flow on a small synthetic set: data, training, test table, pictures."""
import glob
import json
import os
import os.path as osp
from pathlib import Path

import cv2
import pytest

from helpers.paths import REPO, SHARED_DATA, TOOLS
from helpers.processes import run_python

pytestmark = pytest.mark.slow  # end to end: see setup.cfg


def test_demo_flow_writes_table_and_pictures(demo_flow):
    """python -m tools.demo on 32 + 16 rendered people, 4 iterations (helpers.runs.demo_flow)."""
    result = demo_flow
    work_dir = Path(result.directory) / 'demo'
    assert result.returncode == 0, result.stderr[-3000:]
    # the options reach testing and the pictures too: the trained weights load exactly
    assert 'do not match' not in result.stdout + result.stderr
    out = result.stdout
    # the training is seeded with --seed (mmengine's environment log says so)
    assert '\n    seed: 0\n' in out
    # the precision (--precision auto: the faster here), said in one line, is what trains
    said = [line for line in out.splitlines() if line.startswith('precision: ')]
    assert len(said) == 1 and said[0].startswith(('precision: fp32 (', 'precision: bf16 ('))
    if said[0].startswith('precision: bf16'):
        assert 'BF16OptimWrapper: forward in bf16' in out
    else:
        assert 'BF16OptimWrapper' not in out
    for row in ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean', 'Mean@0.1'):
        assert f'\n{row} ' in out, row
    summary = json.load(open(work_dir / 'demo_summary.json'))
    assert 0.0 <= summary['pckh_0_5'] <= 100.0
    curves = cv2.imread(str(work_dir / 'loss_curves.png'))
    assert curves is not None and curves.std() > 0
    heatmaps = sorted(glob.glob(str(work_dir / 'heatmaps_*.png')))
    assert len(heatmaps) == 2
    picture = cv2.imread(heatmaps[0])
    assert picture.shape[1] == 17 * 96  # the crop + 16 joints per row
    skeletons = glob.glob(str(work_dir / '*' / 'predicted_skeletons' / '*.jpg'))
    assert len(skeletons) == 16  # one picture per test image


def _demo_module():
    """demo_kit.demo: the demo's steps (``python -m tools.demo`` is its parser and one call)."""
    from demo_kit import demo
    return demo


def test_demo_uses_a_dataset_of_the_users_own_without_writing_into_it(tmp_path, capsys):
    import argparse
    import os
    import shutil
    demo = _demo_module()
    root = tmp_path / 'own'
    shutil.copytree(osp.join(REPO, 'tests', 'data', 'mpii_sample'), root)
    os.makedirs(root / 'annotations', exist_ok=True)
    for split in ('train', 'val'):
        shutil.copy(root / 'annotations.json', root / 'annotations' / f'mpii_{split}.json')
    args = argparse.Namespace(data_root=str(root), num_train=3000, num_val=300, seed=0)
    # a head-box file is missing: named, nothing rendered
    try:
        demo.make_data(args)
    except FileNotFoundError as error:
        assert 'mpii_gt_val.mat' in str(error)
    else:
        raise AssertionError('an incomplete dataset of the user was accepted')
    (root / 'annotations' / 'mpii_gt_val.mat').write_bytes(b'placeholder')
    before = sorted((p, p.stat().st_mtime_ns) for p in root.rglob('*'))
    demo.make_data(args)
    assert 'of your own' in capsys.readouterr().out
    assert sorted((p, p.stat().st_mtime_ns) for p in root.rglob('*')) == before


def test_demo_resumes_only_its_own_run_and_moves_another_aside(tmp_path):
    demo = _demo_module()
    work_dir = str(tmp_path / 'demo')
    fingerprint = {'config': 'a.py', 'config_sha256': '1', 'data': {}}
    assert demo.prepare_work_dir(work_dir, fingerprint) is False  # nothing there yet
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write('iter_500.pth')
    assert demo.prepare_work_dir(work_dir, fingerprint) is True  # the same run: resume
    other = dict(fingerprint, config_sha256='2')
    assert demo.prepare_work_dir(work_dir, other) is False  # another config: start afresh
    moved = glob.glob(work_dir + '.*')
    assert len(moved) == 1 and open(osp.join(moved[0], 'last_checkpoint')).read() == 'iter_500.pth'
    assert json.load(open(osp.join(work_dir, 'demo_run.json'))) == other
    assert not osp.exists(osp.join(work_dir, 'last_checkpoint'))


def test_demo_options_seed_the_training_and_the_users_come_last():
    import argparse

    from mmengine.config import Config
    demo = _demo_module()
    args = argparse.Namespace(data_root='d', seed=7, cfg_options=['train_cfg.max_iters=4'])
    from demo_kit import DEMO_CONFIG
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(demo.options_dict(demo.run_options(args)))
    assert cfg.randomness.seed == 7 and cfg.train_cfg.max_iters == 4
    assert cfg.train_dataloader.dataset.data_root == 'd/'
    args.cfg_options = ['randomness.seed=3']  # the user's own option wins
    assert demo.options_dict(demo.run_options(args))['randomness.seed'] == 3


LSP = osp.join(SHARED_DATA, 'lsp')


@pytest.mark.skipif(not osp.isdir(LSP), reason='../shared/data/lsp is not here')
def test_lsp_demo_on_real_photos(lsp_demo):
    """--dataset lsp: the release converted into data/lsp (under the working directory), the LSP
    config trained and tested, its table and pictures written (16 test photos, 4 iterations:
    helpers.runs.lsp_demo)."""
    result = lsp_demo
    tmp_path = Path(result.directory)
    work_dir = tmp_path / 'demo_lsp'
    assert result.returncode == 0, result.stderr[-3000:]
    assert osp.isfile(tmp_path / 'data' / 'lsp' / 'annotations' / 'lsp_test.json')
    out = result.stdout
    for row in ('head_top', 'neck', 'shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle', 'Mean'):
        assert f'\n{row} ' in out, row
    summary = json.load(open(work_dir / 'demo_summary.json'))
    assert 0.0 <= summary['pck_0_2'] <= 100.0
    skeletons = glob.glob(str(work_dir / '*' / 'predicted_skeletons' / '*.jpg'))
    assert len(skeletons) == 16
    grid = cv2.imread(str(work_dir / 'skeletons_grid.jpg'))
    assert grid.shape[0] == 3 * 240  # 12 of the drawings, 4 a row
    curve = cv2.imread(str(work_dir / 'pck_curve.png'))
    assert curve is not None and curve.std() > 0
    picture = cv2.imread(glob.glob(str(work_dir / 'heatmaps_*.png'))[0])
    assert picture.shape[1] == 15 * 96  # the crop + 14 joints


def test_the_demo_runs_as_a_module_and_says_so_when_run_as_a_script():
    """The tools that import the repository's demo_kit/ or benchmarks/ run from its root as
    modules (python -m tools.demo, as make demo and the demo tests run it; make_synthetic_mpii
    and benchmark alike); run as a script, the demo says so in one line."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    result = run_python(osp.join(TOOLS, 'demo.py'), '--help', env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'error: run it from the repository root: python -m tools.demo')


@pytest.mark.parametrize('native, bf16_ms, chosen', [
    (True, 5.0, 'bf16'), (True, 9.5, 'fp32'), (False, 5.0, 'fp32')])
def test_demo_precision_auto_is_the_faster_here(native, bf16_ms, chosen, monkeypatch, capsys):
    """--precision auto: bf16 where the CPU computes it natively and the probe measures it at
    most 0.9 of fp32's time (a probe of 10 ms in fp32 here), fp32 elsewhere, said in one line
    with the reason and the two times; fp32 and bf16 as asked."""
    from hourglass_plugin.engine import bf16_optim_wrapper

    def probe(bf16: bool) -> float:
        if not native:
            raise AssertionError('a CPU without bf16 units is not probed')
        return (bf16_ms if bf16 else 10.0) / 1e3

    monkeypatch.setattr(bf16_optim_wrapper, 'cpu_has_native_bf16', lambda: native)
    monkeypatch.setattr(bf16_optim_wrapper, 'probe_seconds', probe)
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    demo = _demo_module()
    capsys.readouterr()
    assert demo.training_precision('auto') == chosen
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and said[0].startswith(f'precision: {chosen} (')
    if native:
        assert (f'took {bf16_ms:.1f} ms in bf16 against 10.0 ms in fp32') in said[0]
    else:
        assert 'this CPU has no native bf16' in said[0]
    assert demo.training_precision('fp32') == 'fp32'
    assert demo.training_precision('bf16') == 'bf16'
