"""Precision: one dtype rule for the value of every registered loss (the compute
dtype: float32 for half, bfloat16 and integer predictions, float64 for float64,
whatever the reduction and the weights' dtype); under CPU bfloat16 autocast a float32
reduced value equal to its float32 value on the same (bfloat16) predictions;
``tools/train.py --amp`` selects the right optimizer wrapper per device and trains a
shapes run with finite losses on the CPU."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

from mmdet_losses import MODELS
from mmdet_losses.losses import BaseLoss
from mmdet_losses.engine.amp import CPUAutocastOptimWrapper, amp_optim_wrapper
from mmdet_losses.losses import SPECS
from mmdet_losses import spec
from spec_helpers import loss_names, required_options
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

# name: (build kwargs, float32 prediction, target), the hand-made rows; every other
# loss gets the case of its kind and targets (its spec): a loss whose targets no
# case below fits fails test_every_loss_has_a_case.
CATEGORY = dict(
    CrossEntropyLoss=[(dict(use_sigmoid=False), logits(C + 1), LABELS),
                      (dict(use_sigmoid=True), logits(C), LABELS),
                      (dict(use_sigmoid=True, class_weight=[1.0, 2.0, 0.5]), logits(C),
                       LABELS)],
    FocalLoss=[(dict(use_sigmoid=True), logits(C), LABELS),
               (dict(use_sigmoid=False), logits(C + 1), LABELS)],
    QualityFocalLoss=[(dict(), logits(C), (LABELS, SCORES))],
    VarifocalLoss=[(dict(), logits(C), SOFT)],
    DistributionFocalLoss=[(dict(), logits(BINS + 1), SCORES * BINS)],
    GHMC=[(dict(), logits(C), LABELS)],
)
# prediction and target of a category loss by the targets it takes
TARGETS = {spec.LABELS: (logits(C), LABELS),
           spec.IOU_QUALITY: (logits(C), (LABELS, SCORES)),
           spec.BIN_DISTANCES: (logits(BINS + 1), SCORES * BINS)}
BOX_KWARGS = dict(MPDIoULoss=dict(image_size=(128, 128)))
BOX_LOSSES = loss_names('box', 'coordinate')


def loss_rows(name):
    """``(build kwargs, prediction, target)`` of every case of the loss ``name``."""
    if name in CATEGORY:
        return CATEGORY[name]
    if name in BOX_LOSSES:
        return [(BOX_KWARGS.get(name, required_options(name)), BOX_PRED, BOX_TARGET)]
    if SPECS[name].targets in TARGETS:
        return [(required_options(name), *TARGETS[SPECS[name].targets])]
    return []


def cases():
    for name in SPECS:
        rows = loss_rows(name)
        for index, (kwargs, pred, target) in enumerate(rows):
            yield pytest.param(name, kwargs, pred, target,
                               id=name if len(rows) == 1 and name in BOX_LOSSES
                               else f'{name}-{index}')


def registered_losses():
    """The losses of this package's registry (not a hand-kept list)."""
    return [name for name in MODELS.own_names()
            if issubclass(MODELS.get(name), BaseLoss)]


def test_every_loss_has_a_case():
    missing = sorted(name for name in registered_losses() if not loss_rows(name))
    assert not missing, f'add an autocast case for {missing}'


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


def dtype_cases():
    """Every case with float16, bfloat16, float32 and float64 predictions, and the
    box losses also with integer boxes."""
    for case in cases():
        name, kwargs, pred, target = case.values
        dtypes = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
        if name in BOX_LOSSES:
            dtypes.append(torch.int64)
        for dtype in dtypes:
            yield pytest.param(name, kwargs, pred, target, dtype,
                               id=f'{case.id}-{str(dtype)[6:]}')


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
@pytest.mark.parametrize('name, kwargs, pred, target, dtype', dtype_cases())
def test_value_is_in_the_compute_dtype(name, kwargs, pred, target, dtype, reduction):
    """float32 for half, bfloat16 and integer predictions, float64 for float64, for
    every loss and reduction, with float32 weights (what heads pass) or float64 ones;
    and the value is the float32 (float64) loss of the same rounded predictions: the
    prediction is upcast once, on entry. (Evaluation mode: WIoU's running mean stays
    put between the calls.)"""
    loss = MMDET_MODELS.build(dict(type=f'mmdet_losses.{name}', **kwargs)).eval()
    expected = torch.float64 if dtype == torch.float64 else torch.float32
    rounded = pred.round() if dtype == torch.int64 else pred
    reference = loss(rounded.to(dtype).to(expected), target,
                     weight=torch.linspace(0.0, 2.0, N, dtype=expected),
                     reduction_override=reduction)
    for weight_dtype in (torch.float32, torch.float64):
        typed = rounded.to(dtype, copy=True)
        if typed.is_floating_point():
            typed.requires_grad_()
        value = loss(typed, target, weight=torch.linspace(0.0, 2.0, N,
                                                          dtype=weight_dtype),
                     reduction_override=reduction)
        assert value.dtype == expected, (value.dtype, weight_dtype)
        assert torch.isfinite(value).all()
        torch.testing.assert_close(value, reference, rtol=1e-6, atol=1e-7)
        if typed.requires_grad:
            value.sum().backward()
            assert typed.grad.dtype == dtype


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
