"""Mixed precision: every registered loss returns a float32 reduced value under CPU
bfloat16 autocast, equal to its float32 value on the same (bfloat16) predictions;
``tools/train.py --amp`` selects the right optimizer wrapper per device and trains a
shapes run with finite losses on the CPU."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

import mmdet_losses.losses
from mmdet_losses.utils.amp import CPUAutocastOptimWrapper, amp_optim_wrapper
from train_utils import RETINANET, make_data, tiny_config, train, train_records

N, C = 16, 3
BINS = 8  # DistributionFocalLoss: n + 1 = 9 bins, targets in [0, 8]


def boxes(seed, jitter=0.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(N, 2, generator=g) * 50
    wh = torch.rand(N, 2, generator=g) * 40 + 5
    box = torch.cat([xy, xy + wh], 1)
    return box + jitter * torch.randn(N, 4, generator=g)


def logits(channels, seed=1):
    return 3 * torch.randn(N, channels, generator=torch.Generator().manual_seed(seed))


LABELS = torch.arange(N) % (C + 1)  # C = background
SCORES = torch.rand(N, generator=torch.Generator().manual_seed(2))
SOFT = torch.zeros(N, C).scatter_(1, (torch.arange(N) % C)[:, None], SCORES[:, None])
BOX_PRED, BOX_TARGET = boxes(3, jitter=4.0), boxes(3)

# name: (build kwargs, float32 prediction, target). Every name of
# mmdet_losses.losses.__all__ needs a row: a new loss fails test_every_loss_has_a_case.
CATEGORY = dict(
    CrossEntropyLoss=[(dict(use_sigmoid=False), logits(C + 1), LABELS),
                      (dict(use_sigmoid=True), logits(C), LABELS)],
    FocalLoss=[(dict(use_sigmoid=True), logits(C), LABELS),
               (dict(use_sigmoid=False), logits(C + 1), LABELS)],
    QualityFocalLoss=[(dict(), logits(C), (LABELS, SCORES))],
    VarifocalLoss=[(dict(), logits(C), SOFT)],
    DistributionFocalLoss=[(dict(), logits(BINS + 1), SCORES * BINS)],
    GHMC=[(dict(), logits(C), LABELS)],
)
BOX_KWARGS = dict(MPDIoULoss=dict(image_size=(128, 128)))
BOX_LOSSES = ('L1Loss', 'L2Loss', 'SmoothL1Loss', 'BalancedL1Loss', 'GHMR',
              'IoULoss', 'GIoULoss', 'DIoULoss', 'CIoULoss', 'EIoULoss', 'SIoULoss',
              'WIoULoss', 'NWDLoss', 'MPDIoULoss', 'ShapeIoULoss', 'PIoULoss')


def cases():
    for name, rows in CATEGORY.items():
        for index, (kwargs, pred, target) in enumerate(rows):
            yield pytest.param(name, kwargs, pred, target, id=f'{name}-{index}')
    for name in BOX_LOSSES:
        yield pytest.param(name, BOX_KWARGS.get(name, {}), BOX_PRED, BOX_TARGET,
                           id=name)


def registered_losses():
    return [n for n in mmdet_losses.losses.__all__ if n != 'BaseLoss']


def test_every_loss_has_a_case():
    covered = set(CATEGORY) | set(BOX_LOSSES)
    assert set(registered_losses()) <= covered, \
        f'add an autocast case for {sorted(set(registered_losses()) - covered)}'


# Under autocast BaseLoss.forward computes on pred.float() with autocast off: a float32
# value, the gradient back in the prediction's dtype.
@pytest.mark.parametrize('name, kwargs, pred, target', cases())
def test_loss_is_float32_under_bf16_autocast(name, kwargs, pred, target):
    if name not in registered_losses():
        pytest.skip(f'{name} is not registered')
    loss = MMDET_MODELS.build(dict(type=f'mmdet_losses.{name}', **kwargs))
    assert type(loss).__module__.startswith('mmdet_losses')
    # What a head hands the loss under autocast: a bfloat16 prediction.
    pred16 = pred.to(torch.bfloat16).requires_grad_()
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        value = loss(pred16, target)
    assert value.dtype == torch.float32 and value.dim() == 0
    assert torch.isfinite(value)
    value.backward()
    assert pred16.grad.dtype == torch.bfloat16
    assert torch.isfinite(pred16.grad.float()).all()
    # The same bfloat16 numbers in float32, outside autocast: the loss computes in
    # float32 inside autocast, so only float32 rounding separates the two.
    reference = MMDET_MODELS.build(dict(type=f'mmdet_losses.{name}', **kwargs))(
        pred16.detach().float(), target)
    torch.testing.assert_close(value, reference, rtol=1e-5, atol=1e-6)


def test_amp_wrapper_per_device():
    assert amp_optim_wrapper('cpu') == dict(
        type='mmdet_losses.CPUAutocastOptimWrapper', dtype='bfloat16')
    assert amp_optim_wrapper('cuda') == dict(
        type='AmpOptimWrapper', loss_scale='dynamic', dtype='float16')
    with pytest.raises(ValueError, match='dtype must be bfloat16'):
        CPUAutocastOptimWrapper(
            dtype='float16', optimizer=torch.optim.SGD([torch.zeros(1)], lr=0.1))


def test_cpu_wrapper_runs_the_forward_under_bf16_autocast():
    model = torch.nn.Linear(4, 2)
    wrapper = CPUAutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.ones(3, 4))
    assert out.dtype == torch.bfloat16
    assert model(torch.ones(3, 4)).dtype == torch.float32  # only inside the context
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().sum())
    assert not torch.equal(before, model.weight)


@pytest.mark.slow
def test_train_py_amp_on_cpu(tmp_path):
    data_root = make_data(str(tmp_path / 'shapes'), num_train=16, num_val=8)
    config = tiny_config(str(tmp_path), RETINANET, iters=3, batch=2)
    work_dir = str(tmp_path / 'work')
    train(config, work_dir, data_root, '--amp',
          '--cfg-options', 'train_cfg.val_interval=4')
    records = train_records(work_dir)
    assert [r['iter'] for r in records] == [1, 2, 3]
    losses = np.array([[r['loss_cls'], r['loss_bbox']] for r in records])
    assert np.isfinite(losses).all() and (losses > 0).all()
    with open(osp.join(work_dir, osp.basename(config)), encoding='utf-8') as f:
        assert "type='mmdet_losses.CPUAutocastOptimWrapper'" in f.read()
