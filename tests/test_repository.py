"""The repository ships what the package imports: no source file is git-ignored,
and every Python source compiles without warnings (invalid escapes in docstrings
are a SyntaxWarning from Python 3.12)."""
import os
import os.path as osp
import shutil
import subprocess
import warnings

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOURCE_DIRS = ('mmdet_losses', 'configs', 'tools', 'tests', 'benchmarks')


def _source_files():
    for top in SOURCE_DIRS:
        for folder, dirs, files in os.walk(osp.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for name in files:
                if name.endswith(('.py', '.sh')):
                    yield osp.relpath(osp.join(folder, name), ROOT)


@pytest.mark.skipif(shutil.which('git') is None or
                    not osp.isdir(osp.join(ROOT, '.git')),
                    reason='needs a git checkout')
def test_no_source_file_is_git_ignored():
    files = sorted(_source_files())
    assert 'mmdet_losses/data/shapes.py' in files
    result = subprocess.run(['git', 'check-ignore', '--no-index', '--stdin'],
                            cwd=ROOT, input='\n'.join(files), text=True,
                            capture_output=True)
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout.split() == []


def test_every_python_source_compiles_without_warnings():
    files = [f for f in _source_files() if f.endswith('.py')]
    assert 'mmdet_losses/functional/fused_iou.py' in files
    for path in files:
        with open(osp.join(ROOT, path), encoding='utf-8') as f:
            source = f.read()
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            compile(source, path, 'exec')
    with warnings.catch_warnings(), pytest.raises((SyntaxError, DeprecationWarning)):
        warnings.simplefilter('error')
        compile('"""S = \\sum_i w_i"""', 'probe.py', 'exec')
