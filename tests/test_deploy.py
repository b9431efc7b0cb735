"""Export to ONNX and the engines: parity with PyTorch, the tools' --backend, clear refusals."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers.models import build_tiny_model, randomise_norms, tiny_cfg
from helpers.paths import DATA, DEMO, DET, IMAGE, TINY
from helpers.processes import load_tool, run_python, run_tool, user_error
from hourglass_plugin.deploy import engine_model_config, export_onnx, load_engine, parity
from hourglass_plugin.deploy.export import PARITY_TOLERANCE

pytestmark = pytest.mark.slow  # end to end: see setup.cfg

ENGINES = ('onnxruntime', 'openvino')


@pytest.fixture(scope='module')
def tiny_model():
    return randomise_norms(build_tiny_model())


@pytest.fixture(scope='module')
def tiny_graphs(tiny_model, tmp_path_factory):
    """The tiny pose model exported three ways: last stack, every stack, fixed batch of 1."""
    tmp = tmp_path_factory.mktemp('onnx')
    paths = dict(last=str(tmp / 'last.onnx'), all=str(tmp / 'all.onnx'),
                 fixed=str(tmp / 'fixed.onnx'))
    export_onnx(tiny_model, paths['last'], (64, 64))
    export_onnx(tiny_model, paths['all'], (64, 64), all_stacks=True)
    export_onnx(tiny_model, paths['fixed'], (64, 64), batch_size=1)
    return paths


def eager(model, x, all_stacks=False):
    with torch.no_grad():
        outs = model.head.forward(model.extract_feat(x))
    return list(outs) if all_stacks else [outs[-1]]


@pytest.mark.parametrize('backend', ENGINES)
@pytest.mark.parametrize('batch', [1, 3])
def test_engines_equal_pytorch_at_any_batch_size(tiny_model, tiny_graphs, backend, batch):
    x = torch.randn(batch, 3, 64, 64)
    engine = load_engine(backend, tiny_graphs['last'])
    assert engine.input_shape() == [None, 3, 64, 64]  # dynamic batch
    got = engine(x)
    assert len(got) == 1 and got[0].shape == (batch, 16, 16, 16)
    check = parity(eager(tiny_model, x), got)
    assert check['max_rel_diff'] <= PARITY_TOLERANCE, check
    # the check can fail: another input's heatmaps are far off
    assert parity(eager(tiny_model, x + 1), got)['max_rel_diff'] > PARITY_TOLERANCE


@pytest.mark.parametrize('backend', ENGINES)
def test_all_stacks_on_request(tiny_model, tiny_graphs, backend):
    x = torch.randn(2, 3, 64, 64)
    got = load_engine(backend, tiny_graphs['all'])(x)
    assert len(got) == 2  # one output per stack
    assert parity(eager(tiny_model, x, all_stacks=True), got)['max_rel_diff'] <= \
        PARITY_TOLERANCE


def test_fixed_batch_on_request(tiny_graphs):
    assert load_engine('onnxruntime', tiny_graphs['fixed']).input_shape() == [1, 3, 64, 64]
    assert load_engine('openvino', tiny_graphs['fixed']).input_shape() == [1, 3, 64, 64]


def test_openvino_precision_is_explicit(tiny_model, tiny_graphs):
    """fp32 unless asked: bf16 is an OpenVINO setting on the same file, and the engine says what
    it computes in (bf16 where the CPU has it; OpenVINO may keep fp32 on a CPU without it)."""
    from hourglass_plugin.engine import cpu_has_native_bf16
    x = torch.randn(2, 3, 64, 64)
    fp32 = load_engine('openvino', tiny_graphs['last'])
    assert fp32.precision == 'fp32'
    bf16 = load_engine('openvino', tiny_graphs['last'], precision='bf16')
    assert bf16.precision in ('bf16', 'fp32')
    if cpu_has_native_bf16():
        assert bf16.precision == 'bf16'
    # bf16 keeps the heatmaps close (8 mantissa bits), not equal
    assert parity(eager(tiny_model, x), bf16(x))['max_rel_diff'] <= 0.05
    with pytest.raises(ValueError, match='--precision bf16: --backend onnxruntime runs fp32'):
        load_engine('onnxruntime', tiny_graphs['last'], precision='bf16')


@pytest.mark.parametrize('graph', ['last', 'all'])
@pytest.mark.parametrize('backend', ENGINES)
def test_engine_predictions_decode_like_pytorch(tiny_model, tiny_graphs, backend, graph):
    """The estimator built from the config with the exported graph as its network
    (ExportedGraph): mmpose's own predict (flip test, codec) gives PyTorch's keypoints."""
    import copy

    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    from hourglass_plugin.deploy import ExportedGraph
    x = torch.randn(2, 3, 64, 64)
    samples = []
    for _ in range(2):
        sample = PoseDataSample(metainfo=dict(input_size=(64, 64), input_center=np.array(
            [32., 32.]), input_scale=np.array([64., 64.]), flip_indices=list(range(16))))
        sample.gt_instances = InstanceData(bboxes=np.array([[0., 0., 64., 64.]]),
                                           bbox_scores=np.ones(1))
        samples.append(sample)
    model = copy.deepcopy(tiny_model)
    model.test_cfg = dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True)
    init_default_scope('mmpose')
    engine_model = MODELS.build(engine_model_config(
        tiny_cfg(), tiny_graphs[graph], backend).model).eval()
    engine_model.test_cfg = model.test_cfg
    assert isinstance(engine_model.backbone, ExportedGraph)
    assert engine_model.backbone.backend == backend
    assert not list(engine_model.parameters())  # the weights are the graph's alone
    with torch.no_grad():
        expected = model.predict(x, copy.deepcopy(samples))
        got = engine_model.predict(x, copy.deepcopy(samples))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g.pred_instances.keypoints, e.pred_instances.keypoints,
                                   atol=1e-3)


_ENGINES_THEN_SIGNALS = """
import gc, signal, subprocess, sys
from hourglass_plugin.deploy import load_engine
first = load_engine('openvino', sys.argv[1])
second = load_engine('openvino', sys.argv[1])
del first  # destroyed in the order they were made, not the reverse
gc.collect()
del second
gc.collect()
signal.signal(signal.SIGCHLD, lambda *_: None)  # a Python handler: delivered on the alt stack
for _ in range(3):
    subprocess.run(['true'])
    [bytearray(1 << 16) for _ in range(200)]  # memory that the signal frame must not hit
print('alive')
"""


def test_openvino_engines_leave_signal_delivery_intact(tiny_graphs):
    """Two engines destroyed in creation order, then signals with a Python handler: the process
    lives (OpenVINO's CPU plugin swaps the thread's alternate signal stack; with a plugin per
    engine the second one put back the first one's unmapped stack, and the next SIGCHLD crashed
    the process with SIGSEGV or corrupted its heap)."""
    result = run_python('-c', _ENGINES_THEN_SIGNALS, tiny_graphs['last'])
    assert result.returncode == 0 and result.stdout.split() == ['alive'], (
        result.returncode, result.stderr[-2000:])


def test_parity_names_shape_and_count_mismatches():
    a = [torch.zeros(1, 2, 4, 4)]
    with pytest.raises(ValueError, match='2 outputs, the model 1'):
        parity(a, a + a)
    with pytest.raises(ValueError, match=r'output shape \(1, 2, 4, 2\)'):
        parity(a, [torch.zeros(1, 2, 4, 2)])


def test_export_tool_checks_parity_on_a_real_image(tiny_checkpoint, tmp_path, run_tool_here):
    out = tmp_path / 'tiny.onnx'
    result = run_tool_here('export.py', TINY, tiny_checkpoint, '--out', str(out), '--image', IMAGE,
                           '--check-backend', 'openvino')
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.is_file() and not (tmp_path / 'tiny.partial.onnx').exists()
    diff = re.search(r'openvino vs PyTorch on .* max\|diff\| \S+ \((\S+) of the output range',
                     result.stdout)
    assert diff and float(diff.group(1)) <= PARITY_TOLERANCE, result.stdout
    assert 'outputs heatmaps;' in result.stdout
    assert re.search(r'largest shift \S+ heatmap pixels', result.stdout)


def _export_module():
    return load_tool('export')


def test_export_that_differs_is_refused_and_leaves_nothing(tiny_checkpoint, tmp_path,
                                                           monkeypatch):
    from hourglass_plugin.deploy import checked_export
    from hourglass_plugin.errors import ExportError
    real = checked_export.load_engine

    def off_by_some(backend, path):  # an engine whose graph computes something else
        engine = real(backend, path)
        return lambda x: [y + 0.01 * (y.max() - y.min()) for y in engine(x)]

    monkeypatch.setattr(checked_export, 'load_engine', off_by_some)
    out = tmp_path / 'bad.onnx'
    monkeypatch.setattr(sys, 'argv', ['export.py', TINY, tiny_checkpoint, '--out', str(out),
                                      '--image', IMAGE])
    tool = _export_module()
    with pytest.raises(ExportError, match=r'bad.onnx: the exported graph in onnxruntime differs '
                       r'from PyTorch by .* \(1.00e-02 of the output range'):
        tool.main(tool.parse_args())
    assert os.listdir(tmp_path) == []  # neither the file nor its partial


def test_detection_backbone_exports_every_stack(tmp_path, run_tool_here):
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(DET).model)
    checkpoint = str(tmp_path / 'det.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'det.onnx'
    image = osp.join(DATA, 'coco_sample', 'images', '000000000785.jpg')
    result = run_tool_here('export.py', DET, checkpoint, '--out', str(out), '--shape', '128', '128',
                           '--image', image)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'outputs features_0, features_1;' in result.stdout
    got = load_engine('onnxruntime', str(out))(torch.randn(2, 3, 128, 128))
    assert [tuple(g.shape) for g in got] == [(2, 32, 32, 32)] * 2


def test_export_without_an_input_size_is_one_line(tmp_path, run_tool_here):
    result = run_tool_here('export.py', DET, TINY, '--out', str(tmp_path / 'x.onnx'))
    assert 'give the input size with --shape H W' in user_error(result)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('name, content, message', [
    ('weights.pth', b'not used', r'runs an exported \.onnx file, got .*weights\.pth'),
    ('broken.onnx', b'\x08\x01garbage', r'broken\.onnx: onnxruntime cannot load it'),
])
def test_test_tool_refuses_what_the_engine_cannot_run(tmp_path, name, content, message,
                                                      run_tool_here):
    path = tmp_path / name
    path.write_bytes(content)
    result = run_tool_here('test.py', TINY, str(path), '--backend', 'onnxruntime', '--work-dir',
                           str(tmp_path / 'work'))
    assert re.search(message, user_error(result))
    assert not (tmp_path / 'work').exists()


def test_a_detection_config_is_not_evaluated_through_a_graph(tiny_graphs, tmp_path,
                                                             run_tool_here):
    """The task comes from the config's model type: mmdet's CornerNet is no pose estimator."""
    result = run_tool_here('test.py', DET, tiny_graphs['last'], '--backend', 'onnxruntime',
                           '--work-dir', str(tmp_path / 'work'))
    assert "model.type='CornerNet' is not an mmpose pose estimator" in user_error(result)
    assert not (tmp_path / 'work').exists()


def test_test_tool_refuses_a_graph_of_another_input_size(tiny_graphs, tmp_path, run_tool_here):
    result = run_tool_here('test.py', DEMO, tiny_graphs['last'], '--backend', 'openvino',
                           '--work-dir', str(tmp_path / 'work'))
    assert 'was exported for 64x64 (HxW) inputs but the config feeds 128x128' in \
        user_error(result)


def pckh(result: subprocess.CompletedProcess) -> float:
    assert result.returncode == 0, result.stderr[-3000:]
    found = re.search(r'^PCK\s+\|\s+(\S+)$', result.stdout, re.M)
    assert found, result.stdout[-3000:]
    return float(found.group(1))


def test_engines_evaluate_the_held_out_split_as_pytorch_does(demo_run, tmp_path, run_tool_here):
    common = ['--cfg-options', *demo_run.options]
    scores = {'pytorch': pckh(run_tool_here('test.py', demo_run.config, demo_run.checkpoint,
                                            '--work-dir', str(tmp_path / 'pt'), *common))}
    for backend in ENGINES:
        result = run_tool_here('test.py', demo_run.config, demo_run.onnx, '--backend', backend,
                               '--work-dir', str(tmp_path / backend), *common)
        # the engine says once what it computes in
        assert result.stdout.count(f'{backend} computes in fp32') == 1, result.stdout[-3000:]
        scores[backend] = pckh(result)
    assert scores['pytorch'] > 0, scores  # trained enough to find some joints
    for backend in ENGINES:
        assert abs(scores[backend] - scores['pytorch']) <= 0.05, scores


def test_benchmark_times_the_chosen_backend(demo_run, tmp_path, run_tool_here):
    result = run_tool_here('test.py', demo_run.config, demo_run.onnx, '--backend', 'onnxruntime',
                           '--benchmark-only', '--repeats', '2', '--warmup', '1', '--work-dir',
                           str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r'backend\s+\| onnxruntime', result.stdout), result.stdout
    written = json.load(open(tmp_path / 'benchmark.json'))
    assert written['backend'] == 'onnxruntime'
    # counted on the config's PyTorch network
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from hourglass_plugin.model_benchmark import count_gmacs
    init_default_scope('mmpose')
    network = MODELS.build(Config.fromfile(demo_run.config).model)
    assert written['params'] == sum(p.numel() for p in network.parameters())
    assert written['gmacs_per_image'] == pytest.approx(count_gmacs(network.backbone, 64, 64))


@pytest.mark.parametrize('backend', ENGINES)
def test_infer_draws_the_skeleton_from_an_engine(demo_run, tmp_path, backend, run_tool_here):
    out = str(tmp_path / 'pose.png')
    result = run_tool_here('infer.py', demo_run.config, demo_run.onnx, IMAGE, '--backend',
                           backend, '--out', out, '--kpt-thr', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    assert '16/16 keypoints scored >= 0 drawn' in result.stdout
    assert result.stdout.count(f'{backend} computes in fp32') == 1, result.stdout[-3000:]
    import mmcv
    drawn, original = mmcv.imread(out), mmcv.imread(IMAGE)
    assert (np.any(drawn != original, axis=-1)).sum() > 200


def test_int8_export_keeps_the_held_out_pckh(demo_run, tmp_path, run_tool_here):
    """tools/export.py --precision int8: NNCF INT8 OpenVINO IR calibrated on training crops,
    compared on held-out test crops, then evaluated by tools/test.py next to the fp32 graph:
    PCKh within 0.5 of fp32 on the 288 held-out people of the shared demo run."""
    onnx = str(tmp_path / 'demo.onnx')
    result = run_tool('export.py', demo_run.config, demo_run.checkpoint, '--out', onnx,
                      '--image', IMAGE, '--precision', 'int8', '--calib-images', '64',
                      '--compare-images', '288', '--cfg-options', *demo_run.options)
    assert result.returncode == 0, result.stderr[-3000:]
    line = re.search(r'INT8 vs fp32 on 288 held-out test crops: keypoints move ([\d.]+) px on '
                     r'average .*; PCK fp32 ([\d.]+), INT8 ([\d.]+)', result.stdout)
    assert line, result.stdout[-3000:]
    xml = str(tmp_path / 'demo_int8.xml')
    assert sorted(os.listdir(tmp_path)) == ['demo.onnx', 'demo_int8.bin', 'demo_int8.xml']
    common = ['--cfg-options', *demo_run.options]
    fp32 = pckh(run_tool_here('test.py', demo_run.config, onnx, '--backend', 'openvino',
                              '--work-dir', str(tmp_path / 'fp32'), *common))
    int8 = pckh(run_tool_here('test.py', demo_run.config, xml, '--backend', 'openvino',
                              '--work-dir', str(tmp_path / 'int8'), *common))
    assert fp32 > 0 and abs(int8 - fp32) <= 0.5, (fp32, int8, line.group(0))


def test_int8_of_a_detection_config_is_one_line(tmp_path, run_tool_here):
    checkpoint = str(tmp_path / 'det.pth')
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.save({'state_dict': MODELS.build(Config.fromfile(DET).model).state_dict()}, checkpoint)
    result = run_tool_here('export.py', DET, checkpoint, '--out', str(tmp_path / 'det.onnx'),
                           '--shape', '128', '128', '--precision', 'int8')
    assert 'is a detection config' in user_error(result)
    assert os.listdir(tmp_path) == ['det.pth']


def test_int8_without_training_annotations_is_one_line(demo_run, tmp_path, run_tool_here):
    missing = str(tmp_path / 'nowhere') + '/'
    result = run_tool_here('export.py', demo_run.config, demo_run.checkpoint, '--out',
                           str(tmp_path / 'x.onnx'), '--image', IMAGE, '--precision', 'int8',
                           '--cfg-options', *demo_run.options,
                           f'train_dataloader.dataset.data_root={missing}')
    message = user_error(result)
    assert (f'train_dataloader.dataset.ann_file: annotation file {missing}annotations/'
            'mpii_train.json does not exist') in message
    assert os.listdir(tmp_path) == []  # nothing exported


def test_unknown_precision_is_refused_by_the_parser(tmp_path, run_tool_here):
    result = run_tool_here('export.py', DEMO, 'x.pth', '--precision', 'fp16')
    assert result.returncode == 2
    assert "invalid choice: 'fp16'" in result.stderr


@pytest.mark.parametrize('tool, images', [('test.py', []), ('infer.py', [IMAGE])])
def test_an_engine_precision_for_pytorch_is_refused_alike(tool, images, tiny_checkpoint,
                                                          run_tool_here):
    """tools/test.py and tools/infer.py take the network's source from one place
    (hourglass_plugin.apis.network): the same refusal, in one line, before anything is built."""
    message = user_error(run_tool_here(tool, TINY, tiny_checkpoint, *images,
                                       '--precision', 'bf16'))
    assert message == ('error: --precision bf16 is an engine setting (--backend openvino); eager '
                       'PyTorch computes in bf16 with --amp')
