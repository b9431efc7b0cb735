"""hourglass_plugin.apis, what the tools are made of: each returns what it printed and leaves the
config it was given as it was. And what a run reads from its config: a pipeline switch at an
iteration, the process group where mmengine cannot join one."""
import pytest
from mmcv.transforms import BaseTransform
from mmengine.config import Config
from mmpose.registry import TRANSFORMS

from helpers.models import tiny_cfg
from helpers.paths import REPO, checkpoint_files
from hourglass_plugin import apis
from hourglass_plugin.errors import ConfigError
from hourglass_plugin.run import init_distributed


@pytest.fixture()
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # the tiny config's data root is relative to the repository


def test_test_model_returns_the_printed_metrics_and_leaves_the_config(
        in_repo, tiny_checkpoint, sample_head_boxes, tmp_path, capsys):
    cfg = tiny_cfg(tmp_path, **{'test_dataloader.dataset.headbox_file': sample_head_boxes})
    before = cfg.to_dict()
    result = apis.test_model(cfg, tiny_checkpoint, out=str(tmp_path / 'preds.pkl'))
    assert cfg.to_dict() == before  # no DumpResults, no engine model put into the caller's
    table = dict(line.split(' | ') for line in capsys.readouterr().out.splitlines()
                 if ' | ' in line)  # the printed metric table, 'name | value' rows
    assert result['benchmark'] is None and result['metrics']
    assert {name.strip(): value for name, value in table.items() if name.strip() != 'metric'} \
        == {name: f'{value:.4f}' for name, value in result['metrics'].items()}
    assert (tmp_path / 'preds.pkl').is_file()


def test_describe_model_counts_what_it_prints(in_repo, capsys):
    info = apis.describe_model(tiny_cfg())
    printed = capsys.readouterr().out
    assert f"parameters (whole model): {info['parameters']:,}" in printed
    assert 0 < info['backbone_parameters'] <= info['parameters']
    assert info['input'] == (3, 64, 64)


def test_train_model_with_amp_leaves_the_config(in_repo, tmp_path):
    cfg = tiny_cfg(tmp_path, **{'train_cfg.max_epochs': 1})
    before = cfg.to_dict()
    runner = apis.train_model(cfg, amp=True)
    assert cfg.to_dict() == before  # the wrapper was chosen on a copy
    assert type(runner.optim_wrapper).__name__ == 'BF16OptimWrapper'
    assert checkpoint_files(tmp_path) == ['epoch_1.pth']


# --- IterPipelineSwitchHook --------------------------------------------------------------

@TRANSFORMS.register_module(force=True)
class SwitchedPipelineReached(BaseTransform):
    """A transform that stops the run: it shows the iteration the switched pipeline began."""

    def transform(self, results):
        raise RuntimeError('the switched pipeline ran')


def _switching_cfg(work_dir, **options):
    cfg = tiny_cfg(work_dir, **{'train_cfg.max_epochs': 4, **options})  # 1 iteration an epoch
    cfg.custom_hooks = [dict(type='IterPipelineSwitchHook', switch_iter=2,
                             switch_pipeline=[dict(type='SwitchedPipelineReached')] +
                             list(cfg.train_dataloader.dataset.pipeline))]
    return cfg


def test_the_pipeline_switches_at_its_iteration(in_repo, tmp_path):
    with pytest.raises(RuntimeError, match='the switched pipeline ran'):
        apis.train_model(_switching_cfg(tmp_path))
    # iterations 0 and 1 (epochs 1 and 2) ran on the config's pipeline, iteration 2 did not
    assert checkpoint_files(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']


def test_a_run_resumed_past_the_switch_trains_on_the_switched_pipeline(in_repo, tmp_path):
    cfg = _switching_cfg(tmp_path, **{'train_cfg.max_epochs': 2})
    cfg.custom_hooks = []
    apis.train_model(cfg)  # 2 epochs on the config's pipeline
    with pytest.raises(RuntimeError, match='the switched pipeline ran'):
        apis.train_model(_switching_cfg(tmp_path), resume='auto')  # resumed at iteration 2
    assert checkpoint_files(tmp_path) == ['epoch_1.pth', 'epoch_2.pth']


def test_a_switch_needs_the_data_made_in_the_training_process(in_repo, tmp_path):
    cfg = _switching_cfg(tmp_path, **{'train_dataloader.num_workers': 1,
                                      'train_dataloader.persistent_workers': False})
    with pytest.raises(ConfigError, match=r'num_workers=0, got 1'):
        apis.train_model(cfg)
    assert checkpoint_files(tmp_path) == []


@pytest.mark.parametrize('switch_iter', [-1, 2.5, '2'])
def test_a_switch_iteration_is_named_when_wrong(switch_iter):
    from hourglass_plugin.engine import IterPipelineSwitchHook
    with pytest.raises(ValueError, match=rf'switch_iter must be an iteration >= 0, got '
                       rf'{repr(switch_iter)}'):
        IterPipelineSwitchHook(switch_iter, [])


# --- the process group without CUDA ------------------------------------------------------

def test_without_cuda_a_pytorch_launch_needs_gloo_and_no_device_ids(monkeypatch):
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl')),
                      model_wrapper_cfg=dict(type='MMDistributedDataParallel', device_ids=None)))
    with pytest.raises(ConfigError, match=r"env_cfg.dist_cfg.backend is 'nccl'.*"
                       r'env_cfg.dist_cfg.backend=gloo'):
        init_distributed(cfg)
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel')
    with pytest.raises(ConfigError, match='model_wrapper_cfg.device_ids must be None'):
        init_distributed(cfg)
    assert init_distributed(Config(dict(launcher='none'))) is False  # one process: no group


def test_the_pose_configs_run_ddp_on_the_models_own_device():
    from helpers.paths import DEMO
    cfg = Config.fromfile(DEMO)
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'  # the CPU demo's choice, in its config
