"""The two packages: the library (mmdet_losses) never imports the lab
(mmdet_losses_lab), the lab uses the library's public names only, and no module of
either takes part in an import cycle, counting the imports inside functions."""
import ast
import os
import os.path as osp
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LIBRARY, LAB = 'mmdet_losses', 'mmdet_losses_lab'


def modules(package: str) -> Dict[str, str]:
    """``{dotted name: path}`` of every module of ``package``."""
    found = {}
    for folder, dirs, files in os.walk(osp.join(ROOT, package)):
        dirs[:] = [d for d in dirs if not d.startswith(('.', '__'))]
        for name in files:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(folder, name), ROOT)[:-3].split(os.sep)
                if rel[-1] == '__init__':
                    rel = rel[:-1]
                found['.'.join(rel)] = osp.join(folder, name)
    return found


ALL = {**modules(LIBRARY), **modules(LAB)}


def imports(module: str, path: str) -> Iterator[Tuple[str, List[str], int]]:
    """``(imported module, names taken from it, line)`` for every import statement
    of the file, at any depth, relative ones resolved."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith('__init__.py') else module.rpartition('.')[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target, [a.name for a in node.names], node.lineno


def internal_edges(module: str, path: str) -> Set[str]:
    """The modules of both packages that ``module`` imports (a name imported from a
    package that is itself a module counts as that module)."""
    edges = set()
    for target, names, _ in imports(module, path):
        submodules = [f'{target}.{n}' for n in names if f'{target}.{n}' in ALL]
        # `from package import submodule` loads the submodule; any other name
        # comes from the package's __init__
        if len(submodules) < len(names) or not names:
            submodules.append(target)
        edges.update(m for m in submodules if m in ALL and m != module)
    return edges


def test_both_packages_are_found():
    assert f'{LIBRARY}.losses.base' in ALL and f'{LAB}.ablation.runner' in ALL
    assert f'{LAB}.data.bccd' in ALL and f'{LIBRARY}.engine.doctor' in ALL


@pytest.mark.parametrize('module', sorted(modules(LIBRARY)))
def test_the_library_never_imports_the_lab(module):
    bad = [(target, line) for target, _, line in imports(module, ALL[module])
           if target == LAB or target.startswith(LAB + '.')]
    assert not bad, f'{module} imports the lab: {bad}'


@pytest.mark.parametrize('module', sorted(modules(LAB)))
def test_the_lab_uses_public_names_of_the_library(module):
    bad = []
    for target, names, line in imports(module, ALL[module]):
        if target == LIBRARY or target.startswith(LIBRARY + '.'):
            private = [part for part in target.split('.') + names
                       if part.startswith('_') and part != '__version__']
            if private:
                bad.append((target, private, line))
    assert not bad, f'{module} imports private names of the library: {bad}'


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One cycle of ``graph`` as a list of nodes (first == last), or ``[]``."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_find_cycle_finds_one():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': set()}) == []


def test_no_import_cycle():
    """A package's ``__init__`` importing its own modules is no cycle; a module
    taking a name from its package's ``__init__`` back is."""
    graph = {module: internal_edges(module, path) for module, path in ALL.items()}
    cycle = find_cycle(graph)
    assert not cycle, 'import cycle: ' + ' -> '.join(cycle)
