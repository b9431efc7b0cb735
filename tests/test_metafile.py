"""The model-zoo metafiles: OpenMMLab's format, one entry per shipped config, numbers that match
what the repo computes."""
import glob
import os.path as osp

import pytest
import yaml

from helpers.paths import CONFIGS, REPO

SHIPPED = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(CONFIGS, '*', '*.py')))


def load(path: str) -> dict:
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def models() -> list:
    found = []
    for metafile in load('model-index.yml')['Import']:
        found.extend(load(metafile)['Models'])
    return found


def collections() -> dict:
    found = {}
    for metafile in load('model-index.yml')['Import']:
        found.update({c['Name']: c for c in load(metafile).get('Collections', [])})
    return found


def test_every_shipped_config_has_one_entry_and_every_entry_a_config():
    configs = [m['Config'] for m in models()]
    assert sorted(configs) == SHIPPED
    for model in models():
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
        assert model['In Collection'] in collections()


def test_collections_cite_the_papers():
    for collection in collections().values():
        paper = collection['Paper']
        assert paper['URL'].startswith('https://arxiv.org/abs/') and paper['Title']
    assert collections()['Stacked Hourglass']['Paper']['URL'].endswith('1603.06937')


def test_results_say_where_they_come_from():
    for model in models():
        assert {'Architecture', 'Training Data', 'Parameters', 'FLOPs'} <= set(model['Metadata'])
        for result in model.get('Results', []):
            assert {'Task', 'Dataset', 'Metrics'} <= set(result)
            assert result['Command'] and result['Date'] and result['Source'] in (
                'reproduced', 'converted from the official release')


def build(config: str):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(osp.join(REPO, config))
    scope = cfg.get('default_scope', 'mmpose')
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    return cfg, registry.build(cfg.model).eval()


@pytest.mark.parametrize('model', models(), ids=lambda m: m['Name'])
def test_parameters_are_the_built_models(model):
    _, built = build(model['Config'])
    assert model['Metadata']['Parameters'] == sum(p.numel() for p in built.parameters())


@pytest.mark.parametrize('name', [
    'td-hm_stacked-hourglass-hg2-f128_1xb16-1600it_synthetic-mpii-128x128',
    'cornernet_stacked-hourglass-tiny_1xb2-2e_coco-sample-128x128'])
def test_flops_are_what_model_info_counts(name):
    from hourglass_plugin.model_benchmark import count_macs
    (model, ) = [m for m in models() if m['Name'] == name]
    _, built = build(model['Config'])
    height, width = model['Metadata']['Input Size']
    assert model['Metadata']['FLOPs'] == count_macs(built.backbone, height, width)
