"""How the code is put together, read from its source: no import cycle among the package's
modules, and nothing that reaches around Python's imports (``sys.path`` edits, modules loaded by
file path) or patches a model's methods (``MethodType``)."""
import ast
import glob
import os.path as osp
from typing import Dict, List, Set

import pytest

from helpers.paths import REPO

PACKAGE = 'hourglass_plugin'
READ = ('hourglass_plugin', 'tools', 'tests', 'benchmarks', 'demo_kit')


def package_imports() -> Dict[str, Set[str]]:
    """module -> the package's modules it imports (``from . import x`` names the submodule)."""
    paths = {}
    for path in glob.glob(osp.join(REPO, PACKAGE, '**', '*.py'), recursive=True):
        name = osp.relpath(path, REPO)[:-3].replace(osp.sep, '.')
        paths[name[:-len('.__init__')] if name.endswith('.__init__') else name] = path
    graph = {}
    for module, path in paths.items():
        package = module if path.endswith('__init__.py') else module.rsplit('.', 1)[0]
        graph[module] = set()
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.ImportFrom):
                base = package.split('.')[:len(package.split('.')) - max(node.level - 1, 0)]
                origin = ('.'.join(base + [node.module] if node.module else base)
                          if node.level else node.module)
                for alias in node.names:
                    sub = f'{origin}.{alias.name}'
                    graph[module].add(sub if sub in paths else origin)
            elif isinstance(node, ast.Import):
                graph[module].update(alias.name for alias in node.names)
        graph[module] &= set(paths)
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The import cycles of ``graph``: its strongly connected parts of more than one module."""
    order, low, stack, found = {}, {}, [], []

    def visit(node):
        order[node] = low[node] = len(order)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            part = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in order:
            visit(node)
    return found


def test_the_package_has_no_import_cycle():
    graph = package_imports()
    assert len(graph) > 50 and 'hourglass_plugin.apis.testing' in graph
    assert cycles(graph) == []


def test_a_cycle_would_be_found():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]


@pytest.mark.parametrize('pattern', ['sys.path', 'spec_from_file_location', 'MethodType'])
def test_nothing_reaches_around_imports_or_patches_a_model(pattern):
    offenders = [path for folder in READ
                 for path in glob.glob(osp.join(REPO, folder, '**', '*.py'), recursive=True)
                 if path != __file__ and pattern in open(path).read()]
    assert offenders == []
