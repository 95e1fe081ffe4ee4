"""Installed like an OpenMMLab project: the configs and tools travel in the package
(``mmdet_losses/.mim``), ``import mmdet_losses`` is enough for ``mmdet_losses::``
configs and for resuming checkpoints on torch >= 2.6, and the tools find each other
without a checkout.

The slow test builds a wheel from a copy of the sources, installs it into a folder,
and from a temporary directory outside the repository (that folder first on
PYTHONPATH) loads an ``mmdet_losses::`` config and trains with the installed
``.mim/tools/train.py``; MMDetection's own ``tools/train.py``, in a virtual
environment with the wheel in its site-packages, resumes that run from a config that
inherits ``mmdet_losses::`` too."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest

import mmdet_losses
from mmdet_losses.engine import mim
from train_utils import PYTHON, ROOT, make_data

SHAPES = 'shapes/retinanet_r18_fpn_giou_1xb4-1500i_shapes.py'
IGNORED = shutil.ignore_patterns('.git', '.venv', 'work_dirs', 'data', 'build',
                                 '*.egg-info', '.mim', '__pycache__', '*.pyc',
                                 '.pytest_cache', 'dist')


def python(code, cwd, env=None, timeout=300):
    result = subprocess.run([PYTHON, '-c', textwrap.dedent(code)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


# ------------------------------------------------------------------ fast

def test_import_registers_the_config_scope():
    from mmengine.config.utils import MODULE2PACKAGE

    assert MODULE2PACKAGE['mmdet_losses'] == 'mmdet_losses'


def test_startup_hook_registers_the_scope_without_importing_us(tmp_path):
    # What mmdet_losses_scope.pth does at interpreter start in site-packages.
    result = python(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        import mmdet_losses_scope
        mmdet_losses_scope.install()
        mmdet_losses_scope.install()
        from mmengine.config.utils import MODULE2PACKAGE
        print(MODULE2PACKAGE.get('mmdet_losses'), 'mmdet_losses' in sys.modules,
              sum(f is mmdet_losses_scope.ScopeFinder for f in sys.meta_path))
    """, cwd=str(tmp_path))
    assert result.stdout.split() == ['mmdet_losses', 'False', '0']


def test_tools_are_found_in_the_checkout():
    assert mim.checkout_root() == ROOT
    assert mim.tools_dir() == osp.join(ROOT, 'tools')
    assert mim.tool('train.py') == osp.join(ROOT, 'tools', 'train.py')
    from mmdet_losses_lab.ablation import runner

    assert runner.TOOLS == osp.join(ROOT, 'tools')
    with pytest.raises(FileNotFoundError, match="no tool 'nope.py'"):
        mim.tool('nope.py')


def test_mmdet_losses_scope_resolves_in_a_user_directory(tmp_path):
    (tmp_path / 'mine.py').write_text(
        f"_base_ = 'mmdet_losses::{SHAPES}'\n"
        "model = dict(bbox_head=dict(loss_bbox=dict(type='mmdet_losses.DIoULoss')))\n")
    python("""
        import mmdet_losses
        from mmengine.config import Config
        cfg = Config.fromfile('mine.py')
        assert cfg.model.bbox_head.loss_bbox.type == 'mmdet_losses.DIoULoss'
        assert cfg.model.bbox_head.reg_decoded_bbox is True
        assert cfg.train_cfg.max_iters == 1500
    """, cwd=str(tmp_path))


def test_import_alone_lets_checkpoints_load(tmp_path):
    # What MMDetection's tools/train.py --resume does with custom_imports: only
    # `import mmdet_losses` runs before torch.load(weights_only=True).
    checkpoint = str(tmp_path / 'ck.pth')
    python(f"""
        import numpy as np, torch
        from mmengine.logging import HistoryBuffer
        buffer = HistoryBuffer()
        buffer.update(1.5)
        torch.save({{'meta': {{'iter': 2}}, 'message_hub': {{'loss': buffer}},
                    'array': np.arange(3)}}, {checkpoint!r})
    """, cwd=str(tmp_path))
    plain = subprocess.run([PYTHON, '-c', f'import torch; torch.load({checkpoint!r})'],
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode != 0 and 'Weights only load failed' in plain.stderr
    result = python(f"""
        import torch, mmdet_losses
        ck = torch.load({checkpoint!r})
        print(ck['meta']['iter'], ck['message_hub']['loss'].current())
    """, cwd=str(tmp_path))
    assert result.stdout.split() == ['2', '1.5']


def test_mim_folder_is_git_ignored():
    with open(osp.join(ROOT, '.gitignore'), encoding='utf-8') as f:
        assert 'mmdet_losses/.mim/' in f.read().split()


def test_tools_print_no_third_party_noise(tmp_path):
    # Loading an mmdet:: base imports pkg_resources, which warned twice per load
    # ("pkg_resources is deprecated", shown at "_bootstrap._exec(spec, module)").
    result = subprocess.run(
        [PYTHON, osp.join(ROOT, 'tools', 'ablation.py'),
         osp.join(ROOT, 'configs', SHAPES), '--cls', 'focal', '--reg', 'giou',
         '--dry-run', '--work-dir', str(tmp_path / 'grid')],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'pkg_resources' not in result.stderr + result.stdout
    assert '_bootstrap' not in result.stderr + result.stdout


def test_plot_loss_curves_writes_outside_docs_by_default(tmp_path):
    result = subprocess.run(
        [PYTHON, osp.join(ROOT, 'tools', 'plot_loss_curves.py'), '--only', 'l1'],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / 'work_dirs' / 'loss_curves' / 'losses')
            .iterdir()] == ['l1.png']
    assert not (tmp_path / 'docs').exists()


# ------------------------------------------------------------------ from a wheel

@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The package built as a wheel from a copy of the sources and installed into
    a folder: ``{'wheel', 'target', 'env'}``."""
    tmp = tmp_path_factory.mktemp('packaging')
    source = tmp / 'source'
    shutil.copytree(ROOT, source, ignore=IGNORED, symlinks=True)
    wheels = tmp / 'wheels'
    subprocess.run([PYTHON, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                    '-q', str(source), '-w', str(wheels)], check=True, timeout=600,
                   capture_output=True)
    [wheel] = wheels.glob('mmdet_losses-*.whl')
    target = tmp / 'site'
    subprocess.run([PYTHON, '-m', 'pip', 'install', '--no-deps', '-q', '--target',
                    str(target), str(wheel)], check=True, timeout=600,
                   capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(target), MMDET_LOSSES_COMPILE='0')
    # A virtual environment with the wheel installed in its site-packages (where
    # .pth files run) that sees this environment's packages (torch, mmdet) after it.
    venv = tmp / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)],
                   check=True, timeout=300)
    venv_python = str(venv / 'bin' / 'python')
    venv_site = subprocess.run(
        [venv_python, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(osp.join(venv_site, 'zz_dependencies.pth'), 'w') as f:
        f.write(sysconfig.get_path('purelib') + '\n')
    subprocess.run([PYTHON, '-m', 'pip', 'install', '--no-deps', '-q', '--target',
                    venv_site, str(wheel)], check=True, timeout=600,
                   capture_output=True)
    venv_env = {k: v for k, v in env.items() if k != 'PYTHONPATH'}
    return dict(wheel=str(wheel), target=str(target), env=env, tmp=tmp,
                venv_python=venv_python, venv_env=venv_env)


USER_CONFIG = """
_base_ = {base!r}
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
data_root = {data!r}
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_iters={iters}, val_interval=100)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                        end=3)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
log_processor = dict(window_size=1)
"""


@pytest.mark.slow
def test_wheel_ships_configs_tools_and_the_model_index(installed):
    with zipfile.ZipFile(installed['wheel']) as wheel:
        names = set(wheel.namelist())
    for name in (f'mmdet_losses/.mim/configs/{SHAPES}',
                 'mmdet_losses/.mim/configs/_base_/shapes_runtime.py',
                 'mmdet_losses/.mim/tools/train.py', 'mmdet_losses/.mim/tools/test.py',
                 'mmdet_losses/.mim/tools/ablation.py',
                 'mmdet_losses/.mim/tools/check_config.py',
                 'mmdet_losses/.mim/tools/dist_train.sh',
                 'mmdet_losses/.mim/model-index.yml',
                 'mmdet_losses/hooks/nan_guard.py',
                 'mmdet_losses_scope.pth', 'mmdet_losses_scope.py'):
        assert name in names, name
    assert not any('__pycache__' in n for n in names)
    assert osp.isfile(osp.join(installed['target'], 'mmdet_losses', '.mim', 'tools',
                               'train.py'))


@pytest.mark.slow
def test_installed_package_trains_and_resumes_outside_the_checkout(installed):
    user = installed['tmp'] / 'user'
    user.mkdir()
    data = make_data(str(user / 'data'), num_train=8, num_val=4)
    env, target = installed['env'], installed['target']
    # The installed copy, not the checkout; the scope and the tools from it.
    python(f"""
        import mmdet_losses
        from mmdet_losses.engine import mim
        assert mmdet_losses.__file__.startswith({target!r}), mmdet_losses.__file__
        assert mim.checkout_root() is None
        assert mim.tools_dir() == {osp.join(target, 'mmdet_losses', '.mim', 'tools')!r}
        from mmdet_losses_lab.ablation import runner
        assert runner.TOOLS == mim.tools_dir()
        from mmengine.config import Config
        open('scoped.py', 'w').write("_base_ = 'mmdet_losses::{SHAPES}'")
        cfg = Config.fromfile('scoped.py')
        assert cfg.custom_hooks[0].type == 'mmdet_losses.NaNGuardHook'
    """, cwd=str(user), env=env)

    # Train 2 iterations with the installed tools/train.py on an mmdet_losses:: base.
    (user / 'mine.py').write_text(USER_CONFIG.format(
        base=f'mmdet_losses::{SHAPES}', data=osp.join(data, ''), iters=2))
    ours = osp.join(target, 'mmdet_losses', '.mim', 'tools', 'train.py')
    result = subprocess.run([PYTHON, ours, 'mine.py', '--work-dir', 'work'],
                            cwd=str(user), env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'pkg_resources' not in result.stderr
    assert osp.isfile(user / 'work' / 'iter_2.pth')

    # Resume to 3 iterations with MMDetection's own tools/train.py, installed in a
    # virtual environment: the wheel's mmdet_losses_scope.pth makes the
    # mmdet_losses:: base resolve before anything imports mmdet_losses, and
    # custom_imports' `import mmdet_losses` lets the checkpoint load on torch >= 2.6.
    import mmdet

    theirs = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    if not osp.isfile(theirs):
        pytest.skip('this mmdet ships no .mim/tools/train.py')
    (user / 'theirs.py').write_text(USER_CONFIG.format(
        base=f'mmdet_losses::{SHAPES}', data=osp.join(data, ''), iters=3))
    result = subprocess.run([installed['venv_python'], theirs, 'theirs.py',
                             '--work-dir', 'work', '--resume'], cwd=str(user),
                            env=installed['venv_env'], capture_output=True,
                            text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert 'resumed epoch: 0, iter: 2' in output
    assert 'Iter(train) [3/3]' in output
    assert osp.isfile(user / 'work' / 'iter_3.pth')
    assert sys.modules['mmdet_losses'] is mmdet_losses  # this process untouched
