"""The NaN guard: a poisoned shapes run (the classification conv's weights set to NaN
at iteration 3) stops there with the term, the iteration and the last finite values
named; with ``max_skips`` the poisoned step is skipped (no optimizer step) and the run
finishes with finite weights. Without the guard the same run exits 0."""
import os
import os.path as osp
import subprocess
import textwrap
from types import SimpleNamespace

import pytest
import torch

from mmdet_losses.hooks import NaNGuardHook, NonFiniteLossError
from train_utils import (PYTHON, RETINANET, ROOT, log_text, make_data,
                         tiny_config, train_records)

# Sets the classification conv of the RetinaNet head to NaN before iteration
# `at` (1-based, as logged) and, with restore=True, puts the weights back after it:
# a bad step in the middle of a healthy run.
POISON_HOOK = '''
import torch
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


@HOOKS.register_module()
class PoisonHeadHook(Hook):
    priority = 'LOWEST'

    def __init__(self, at=3, restore=False):
        self.at, self.restore, self.saved = at, restore, None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            conv = runner.model.bbox_head.retina_cls
            self.saved = conv.weight.detach().clone()
            with torch.no_grad():
                conv.weight.fill_(float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at and self.restore:
            with torch.no_grad():
                runner.model.bbox_head.retina_cls.weight.copy_(self.saved)
'''


def poisoned_config(tmp_path, guard, restore=False, iters=4):
    (tmp_path / 'poison_hook.py').write_text(POISON_HOOK)
    base = tiny_config(str(tmp_path), RETINANET, iters=iters, batch=2)
    path = tmp_path / 'poisoned.py'
    hooks = [f"dict(type='PoisonHeadHook', at=3, restore={restore})"]
    if guard is not None:
        hooks.append(f"dict(type='mmdet_losses.NaNGuardHook', max_skips={guard})")
    path.write_text(textwrap.dedent(f"""
        _base_ = {osp.basename(base)!r}
        custom_imports = dict(imports=['mmdet_losses', 'poison_hook'],
                              allow_failed_imports=False)
        custom_hooks = [{', '.join(hooks)}]
        train_cfg = dict(val_interval={iters + 1})
    """))
    return str(path)


def train_poisoned(tmp_path, config, data_root, expect_ok, *options):
    """tools/train.py on ``config``; returns (work dir, output)."""
    work_dir = str(tmp_path / 'work')
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}'
               f'{os.environ.get("PYTHONPATH", "")}')
    result = subprocess.run(
        [PYTHON, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
         '--data-root', data_root, *options], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=600)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == expect_ok, output[-4000:]
    return work_dir, output


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_data(str(tmp_path_factory.mktemp('shapes')), num_train=8, num_val=4)


# ------------------------------------------------------------------ unit

def fake_runner(iteration):
    return SimpleNamespace(iter=iteration - 1, logger=SimpleNamespace(
        warning=lambda message: fake_runner.warnings.append(message)))


fake_runner.warnings = []


def test_stop_message_names_term_iteration_and_last_finite_values():
    hook = NaNGuardHook()
    hook._check(fake_runner(2), {'loss': torch.tensor(1.5),
                                 'loss_cls': torch.tensor(1.0),
                                 'loss_bbox': torch.tensor(0.5)})
    with pytest.raises(NonFiniteLossError) as error:
        hook._check(fake_runner(3), {'loss': torch.tensor(float('nan')),
                                     'loss_cls': torch.tensor(float('nan')),
                                     'loss_bbox': torch.tensor(0.25)})
    message = str(error.value)
    assert message.startswith('NaNGuardHook: loss_cls became non-finite at '
                              'iteration 3 (loss=nan, loss_cls=nan).')
    assert 'Last finite values (iteration 2): loss=1.5, loss_cls=1, loss_bbox=0.5.' \
        in message
    assert 'max_skips=K' in message


def test_skips_are_counted_then_the_run_stops():
    hook = NaNGuardHook(max_skips=1)
    bad = {'loss': torch.tensor(float('inf'))}
    hook._check(fake_runner(4), bad)
    assert hook.skipped == [4] and hook._skip_step
    assert 'step skipped (1 of max_skips=1)' in fake_runner.warnings[-1]
    with pytest.raises(NonFiniteLossError, match='Steps skipped before: iterations 4'):
        hook._check(fake_runner(5), bad)


@pytest.mark.parametrize('max_skips', [-1, 1.5, True, '2'])
def test_max_skips_is_validated(max_skips):
    with pytest.raises(ValueError, match='max_skips must be an integer >= 0'):
        NaNGuardHook(max_skips=max_skips)


def test_hook_is_in_our_scope_and_on_in_the_shapes_runtime():
    from mmengine.config import Config
    from mmengine.registry import HOOKS, init_default_scope

    init_default_scope('mmdet')
    hook = HOOKS.build(dict(type='mmdet_losses.NaNGuardHook', max_skips=2))
    assert type(hook) is NaNGuardHook and hook.max_skips == 2
    cfg = Config.fromfile(RETINANET)
    assert dict(type='mmdet_losses.NaNGuardHook', max_skips=0) in cfg.custom_hooks


# ------------------------------------------------------------------ poisoned runs

@pytest.mark.slow
def test_poisoned_run_stops_at_the_bad_iteration(tmp_path, data_root):
    work_dir, output = train_poisoned(tmp_path, poisoned_config(tmp_path, guard=0),
                                      data_root, expect_ok=False)
    assert 'NonFiniteLossError: NaNGuardHook: loss_cls became non-finite at ' \
        'iteration 3' in output
    assert 'Last finite values (iteration 2): loss=' in output
    assert [r['iter'] for r in train_records(work_dir)] == [1, 2]


@pytest.mark.slow
def test_without_the_guard_the_poisoned_run_exits_0(tmp_path, data_root):
    # What the guard is for: the same run, no guard, trains to the end on NaN.
    work_dir, _ = train_poisoned(tmp_path, poisoned_config(tmp_path, guard=None),
                                 data_root, True, '--no-nan-guard')
    records = train_records(work_dir)
    assert [r['iter'] for r in records] == [1, 2, 3, 4]
    assert records[-1]['loss_cls'] != records[-1]['loss_cls']  # NaN


@pytest.mark.slow
def test_skipped_step_leaves_the_weights_finite(tmp_path, data_root):
    work_dir, output = train_poisoned(
        tmp_path, poisoned_config(tmp_path, guard=1, restore=True), data_root,
        expect_ok=True)
    assert 'NaNGuardHook: non-finite loss at iteration 3 (loss=nan, loss_cls=nan' \
        in output
    assert 'step skipped (1 of max_skips=1)' in log_text(work_dir)
    records = train_records(work_dir)
    assert [r['iter'] for r in records] == [1, 2, 3, 4]
    for record in records[3:]:
        assert torch.isfinite(torch.tensor([record['loss_cls'],
                                            record['loss_bbox']])).all()
    from mmdet_losses.engine.checkpoint import register_safe_globals

    register_safe_globals()
    state = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu')
    for name, value in state['state_dict'].items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), name
