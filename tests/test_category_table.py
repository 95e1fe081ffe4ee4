"""Every category loss against its hand-derived row of tests/category_cases.py, and
the properties every category loss shares (reductions, gradcheck, saturated logits,
half precision, empty input, garbage where the weight is 0)."""
import math

import pytest
import torch

from mmdet_losses.registry import MODELS

from category_cases import CATEGORY_CASES
from spec_helpers import loss_names

IDS = [case.name for case in CATEGORY_CASES]


def build(case, **kwargs):
    cfg = dict(case.loss, **kwargs)
    cfg['type'] = 'mmdet_losses.' + cfg['type']
    loss = MODELS.build(cfg)
    assert type(loss).__module__.startswith('mmdet_losses.'), type(loss)
    return loss


def tensors(case, dtype=torch.float64, pred=None):
    pred = torch.tensor(case.pred, dtype=dtype) if pred is None else pred
    target = case.target
    if isinstance(target, tuple):
        return pred, (torch.tensor(target[0]), torch.tensor(target[1], dtype=dtype))
    if isinstance(target[0], list):
        return pred, torch.tensor(target, dtype=dtype)
    if isinstance(target[0], float):
        return pred, torch.tensor(target, dtype=dtype)
    return pred, torch.tensor(target)


def test_every_category_loss_has_a_row():
    category = set(loss_names('category', 'quality', 'distribution'))
    covered = {case.loss['type'] for case in CATEGORY_CASES}
    assert category - covered == set(), 'category losses without a case row'
    assert {'FocalLoss', 'CrossEntropyLoss', 'QualityFocalLoss', 'VarifocalLoss',
            'DistributionFocalLoss', 'GHMC'} <= covered


@pytest.mark.parametrize('case', CATEGORY_CASES, ids=IDS)
def test_reference_values(case):
    pred, target = tensors(case)
    expected = torch.tensor(case.expected, dtype=torch.float64)
    out = build(case, reduction='none')(pred, target)
    torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-12)
    count = case.num_elements or expected.numel()
    mean = build(case)(pred, target)
    # rel 1e-6: GHM-C divides by N + eps (the avg_factor rule, eps = 1.2e-7)
    assert mean.item() == pytest.approx(expected.sum().item() / count, rel=1e-6)
    total = build(case, reduction='sum', loss_weight=3.0)(pred, target)
    assert total.item() == pytest.approx(3 * expected.sum().item(), rel=1e-9)


@pytest.mark.parametrize('case', CATEGORY_CASES, ids=IDS)
def test_gradcheck(case):
    shape = torch.tensor(case.pred).shape
    gen = torch.Generator().manual_seed(0)
    pred = (2 * torch.randn(shape, generator=gen, dtype=torch.float64)
            ).requires_grad_()
    _, target = tensors(case)
    if case.grad is not None:  # a constant weight: its own hand-derived gradient
        pred, _ = tensors(case)
        pred.requires_grad_()
        grad, = torch.autograd.grad(build(case, reduction='sum')(pred, target), pred)
        expected = torch.tensor(case.grad, dtype=torch.float64)
        torch.testing.assert_close(grad, expected, rtol=1e-12, atol=0.0)
        return
    for reduction in ('none', 'mean'):
        loss = build(case, reduction=reduction)
        assert torch.autograd.gradcheck(lambda x: loss(x, target), (pred, ))


@pytest.mark.parametrize('case', CATEGORY_CASES, ids=IDS)
@pytest.mark.parametrize('value', [100.0, -100.0])
def test_saturated_logits_are_finite(case, value):
    shape = torch.tensor(case.pred).shape
    pred = torch.full(shape, value, requires_grad=True)
    _, target = tensors(case, torch.float32)
    for reduction in ('none', 'mean'):
        out = build(case, reduction=reduction)(pred, target)
        assert torch.isfinite(out).all()
        grad, = torch.autograd.grad(out.sum(), pred)
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize('case', CATEGORY_CASES, ids=IDS)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_is_close_to_float32(case, dtype):
    pred32, target = tensors(case, torch.float32)
    reference = build(case)(pred32, target)
    pred = pred32.to(dtype).requires_grad_()
    out = build(case)(pred, target)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(reference.item(), rel=1e-2, abs=1e-3)
    grad, = torch.autograd.grad(out, pred)
    assert grad.dtype == dtype and torch.isfinite(grad.float()).all()


@pytest.mark.parametrize('case', CATEGORY_CASES, ids=IDS)
def test_empty_input(case):
    channels = torch.tensor(case.pred).shape[1]
    pred = torch.zeros(0, channels, requires_grad=True)
    _, target = tensors(case, torch.float32)
    if isinstance(target, tuple):
        target = (target[0][:0], target[1][:0])
    else:
        target = target[:0]
    out = build(case)(pred, target)
    assert out.item() == 0.0
    out.backward()
    assert pred.grad.shape == pred.shape


@pytest.mark.parametrize('case', CATEGORY_CASES, ids=IDS)
@pytest.mark.parametrize('garbage', [math.nan, math.inf])
def test_zero_weight_rows_ignore_garbage(case, garbage):
    # Row 0 gets weight 0 and garbage logits: the value is that of the other rows
    # and row 0's gradient is exactly 0.
    pred, target = tensors(case)
    rows = pred.shape[0]
    if rows < 2:
        pred = pred.repeat(2, 1)
        target = tuple(t.repeat(2) for t in target) if isinstance(target, tuple) \
            else target.repeat(2, *([1] * (target.dim() - 1)))
        rows = 2
    weight = torch.ones(rows, dtype=torch.float64)
    weight[0] = 0
    clean = build(case, reduction='sum')(pred, target, weight=weight)
    dirty = pred.clone()
    dirty[0] = garbage
    dirty.requires_grad_()
    out = build(case, reduction='sum')(dirty, target, weight=weight)
    assert out.item() == pytest.approx(clean.item(), rel=1e-12)
    out.backward()
    assert torch.isfinite(dirty.grad).all()
    assert (dirty.grad[0] == 0).all()
