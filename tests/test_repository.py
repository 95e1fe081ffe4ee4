"""The repository ships what the package imports: no source file is git-ignored,
every Python source compiles without warnings (invalid escapes in docstrings are a
SyntaxWarning from Python 3.12), no tracked file holds a path of the machine it was
written on, and results/ keeps what its policy says."""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import warnings

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOURCE_DIRS = ('mmdet_losses', 'mmdet_losses_lab', 'configs', 'tools', 'tests',
               'benchmarks')


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
    assert 'mmdet_losses_lab/data/shapes.py' in files
    result = subprocess.run(['git', 'check-ignore', '--no-index', '--stdin'],
                            cwd=ROOT, input='\n'.join(files), text=True,
                            capture_output=True)
    assert result.returncode in (0, 1), result.stderr
    assert result.stdout.split() == []


def test_every_python_source_compiles_without_warnings():
    files = [f for f in _source_files() if f.endswith('.py')]
    assert 'mmdet_losses/functional/fused/iou.py' in files
    for path in files:
        with open(osp.join(ROOT, path), encoding='utf-8') as f:
            source = f.read()
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            compile(source, path, 'exec')
    with warnings.catch_warnings(), pytest.raises((SyntaxError, DeprecationWarning)):
        warnings.simplefilter('error')
        compile('"""S = \\sum_i w_i"""', 'probe.py', 'exec')


def _control_characters(source: str):
    r"""``(line, characters)`` of every string constant holding a control character
    other than newline and tab (a docstring that is not raw turns ``\a`` and
    ``\f`` into BEL and form feed)."""
    import ast
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            bad = sorted({hex(ord(c)) for c in node.value
                          if (ord(c) < 32 and c not in '\n\t') or ord(c) == 127})
            if bad:
                found.append((node.lineno, bad))
    return found


def test_no_control_character_in_any_string():
    assert _control_characters('def f():\n    """\\arctan r"""\n') == [(2, ['0x7'])]
    assert _control_characters('def f():\n    r"""\\arctan r"""\n') == []
    found = _python_sources_with(_control_characters)
    assert not found, found


def _python_sources_with(finder):
    """``{path: finder(source)}`` of every Python source where it finds something."""
    found = {}
    for path in _source_files():
        if path.endswith('.py'):
            with open(osp.join(ROOT, path), encoding='utf-8') as f:
                hits = finder(f.read())
            if hits:
                found[path] = hits
    return found


def _escaped_math_docstrings(source: str):
    r"""Lines of the docstrings that write a LaTeX command with a doubled backslash
    (``\\frac``) instead of being raw strings (``\frac`` in an ``r`` string)."""
    import ast
    import io
    import tokenize
    starts = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)) and node.body \
                and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            starts.add((node.body[0].lineno, node.body[0].col_offset))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and token.start in starts:
            prefix = token.string[:token.string.index(token.string.lstrip(
                'rRbBuUfF')[0])]
            if 'r' not in prefix.lower() and re.search(r'\\\\[A-Za-z]', token.string):
                found.append(token.start[0])
    return found


def test_every_math_docstring_is_raw():
    assert _escaped_math_docstrings('def f():\n    """x = \\\\frac{a}{b}"""\n') == [2]
    assert _escaped_math_docstrings('def f():\n    r"""x = \\frac{a}{b}"""\n') == []
    found = _python_sources_with(_escaped_math_docstrings)
    assert not found, found


def _tracked_files():
    result = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


needs_git = pytest.mark.skipif(shutil.which('git') is None or
                               not osp.isdir(osp.join(ROOT, '.git')),
                               reason='needs a git checkout')
# Absolute paths of a machine: home and work folders, and this checkout's own.
MACHINE_PATH = re.compile(r'(?<![\w.~-])/(?:work|home|root|Users|scratch)/[\w.-]+')


@needs_git
def test_no_tracked_file_holds_a_machine_path():
    own = re.compile(re.escape(ROOT) + r'(?![\w.-])')
    found = []
    for path in _tracked_files():
        if path == 'tests/test_repository.py':
            continue
        try:
            with open(osp.join(ROOT, path), encoding='utf-8') as f:
                text = f.read()
        except (UnicodeDecodeError, IsADirectoryError):
            continue  # a figure
        hits = MACHINE_PATH.findall(text) + own.findall(text)
        if hits:
            found.append((path, sorted(set(hits))[:3]))
    assert not found, found


def test_machine_path_pattern():
    assert MACHINE_PATH.findall('cd /scratch/ckout && ls /home/me/x') == \
        ['/scratch/ckout', '/home/me']
    assert MACHINE_PATH.findall('see results/work/x and ~/work/a, /tmp/sim') == []


# What results/<grid>/ keeps (results/README.md): the report, the runs' records and
# the manifest; run folders (logs, dumped configs, checkpoints) stay untracked.
RESULT_FILE = re.compile(r'^(summary[\w-]*\.(md|csv|png)|runs\.json|manifest\.json)$')


@needs_git
def test_results_keep_summaries_records_and_manifests_only():
    grids = {}
    for path in _tracked_files():
        if not path.startswith('results/') or path == 'results/README.md':
            continue
        parts = path.split('/')
        assert len(parts) == 3 and RESULT_FILE.match(parts[2]), \
            f'{path}: results/<grid>/ keeps summaries, runs.json, manifest.json'
        grids.setdefault(parts[1], set()).add(parts[2])
    assert len(grids) >= 8
    for grid, files in grids.items():
        assert {'summary.md', 'runs.json', 'manifest.json'} <= files, grid
        with open(osp.join(ROOT, 'results', grid, 'manifest.json')) as f:
            manifest = json.load(f)
        assert manifest['commands'][0]['command'].startswith('python tools/ablation.py ')
        with open(osp.join(ROOT, 'results', grid, 'runs.json')) as f:
            runs = json.load(f)['runs']
        done = [name for name, run in runs.items() if run['status']['state'] == 'done']
        assert done and all(len(runs[n]['status']['key']) == 16 for n in done), grid
        assert set(manifest['runs']) == set(runs), grid
    # results/README.md names every grid with what it ran and the page that quotes it
    with open(osp.join(ROOT, 'results', 'README.md'), encoding='utf-8') as f:
        listed = set(re.findall(r'^\| `([\w<>]+)/` \|', f.read(), re.M))
    levels = {g for g in grids if re.fullmatch(r'ablation_imbalance_\d', g)}
    assert set(grids) - levels == listed - {'ablation_imbalance_<level>'}
