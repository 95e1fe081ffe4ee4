"""Parity of the location losses with MMDetection's and torchvision's, and tests
pinning where they deliberately differ."""
import importlib
import math

import pytest
import torch

import mmdet_losses.functional as F
from cases import CASES_BY_NAME
from location_specs import IOU_FAMILY, build_module, call_functional, random_pairs
from reference_boxes import (tv_complete_box_iou_loss, tv_distance_box_iou_loss,
                             tv_generalized_box_iou_loss)

# mmdet.models.losses re-exports functions under the names of their modules
mmdet_iou = importlib.import_module('mmdet.models.losses.iou_loss')
mmdet_mse = importlib.import_module('mmdet.models.losses.mse_loss')
mmdet_smooth_l1 = importlib.import_module('mmdet.models.losses.smooth_l1_loss')
mmdet_balanced_l1 = importlib.import_module('mmdet.models.losses.balanced_l1_loss')

# eps sits in different places (mmdet: union, c^2 and heights; ours: every
# denominator); with boxes of 1 px and more that moves values by ~1e-7.
PARITY_TOL = dict(rtol=1e-5, atol=1e-5)


def _value_and_grad(fn, pred, target):
    pred = pred.clone().requires_grad_(True)
    loss = fn(pred, target)
    (grad, ) = torch.autograd.grad(loss.sum(), pred)
    return loss.detach(), grad


MMDET_PAIRS = {
    'iou_linear': lambda p, t: mmdet_iou.iou_loss(p, t, mode='linear',
                                                  reduction='none'),
    'iou_log': lambda p, t: mmdet_iou.iou_loss(p, t, mode='log', reduction='none'),
    'iou_square': lambda p, t: mmdet_iou.iou_loss(p, t, mode='square',
                                                  reduction='none'),
    'giou': lambda p, t: mmdet_iou.giou_loss(p, t, reduction='none'),
    'diou': lambda p, t: mmdet_iou.diou_loss(p, t, reduction='none'),
    # MMDetection's CIoU gates the trade-off at IoU 0.5
    'ciou_gated': lambda p, t: mmdet_iou.ciou_loss(p, t, reduction='none'),
    'l1': lambda p, t: mmdet_smooth_l1.l1_loss(p, t, reduction='none'),
    'smooth_l1': lambda p, t: mmdet_smooth_l1.smooth_l1_loss(p, t, reduction='none'),
    'l2': lambda p, t: mmdet_mse.mse_loss(p, t, reduction='none'),
    'balanced_l1': lambda p, t: mmdet_balanced_l1.balanced_l1_loss(p, t,
                                                                   reduction='none'),
}


@pytest.mark.parametrize('key', sorted(MMDET_PAIRS))
def test_mmdet_parity(key):
    pred, target = random_pairs(256, seed=20)
    # nudge part of the pairs into high IoU so the CIoU gate opens for some
    pred[:64] = target[:64] + 0.3 * (pred[:64] - target[:64]).clamp(-2, 2)
    ours, ours_grad = _value_and_grad(
        lambda p, t: call_functional(key, p, t), pred, target)
    theirs, theirs_grad = _value_and_grad(MMDET_PAIRS[key], pred, target)
    torch.testing.assert_close(ours, theirs, **PARITY_TOL)
    torch.testing.assert_close(ours_grad, theirs_grad, **PARITY_TOL)
    if key == 'ciou_gated':
        iou = 1 - F.iou_loss(pred, target, mode='linear')
        assert (iou > 0.5).sum() >= 16 and (iou < 0.5).sum() >= 16


def test_mmdet_siou_parity_with_the_papers_gamma():
    """Ours is the paper's SIoU: MMDetection's ``neg_gamma=True`` (where its clamp of
    SIoU to [-1, 1] is inactive, i.e. for every well-formed pair here)."""
    pred, target = random_pairs(256, seed=21)
    theirs_fn = lambda p, t: mmdet_iou.siou_loss(p, t, neg_gamma=True,  # noqa: E731
                                                 reduction='none')
    ours, ours_grad = _value_and_grad(F.siou_loss, pred, target)
    theirs, theirs_grad = _value_and_grad(theirs_fn, pred, target)
    assert theirs.max() < 2 and theirs.min() > 0   # clamp inactive
    torch.testing.assert_close(ours, theirs, **PARITY_TOL)
    torch.testing.assert_close(ours_grad, theirs_grad, **PARITY_TOL)


@pytest.mark.parametrize('beta', [1.0, 0.3])
def test_mmdet_smooth_l1_parity_beta(beta):
    pred, target = random_pairs(64, seed=22)
    torch.testing.assert_close(
        F.smooth_l1_loss(pred, target, beta=beta),
        mmdet_smooth_l1.smooth_l1_loss(pred, target, beta=beta, reduction='none'))


MMDET_MODULES = [('giou', 'GIoULoss', {}), ('diou', 'DIoULoss', {}),
                 ('ciou_gated', 'CIoULoss', {}), ('iou_log', 'IoULoss', {}),
                 ('l1', 'L1Loss', {}), ('smooth_l1', 'SmoothL1Loss', dict(beta=0.5)),
                 ('l2', 'MSELoss', {}), ('balanced_l1', 'BalancedL1Loss', {}),
                 ('balanced_l1', 'BalancedL1Loss', dict(beta=0.11, alpha=0.3))]


@pytest.mark.parametrize('key,mmdet_type,kwargs', MMDET_MODULES,
                         ids=[f'{m[1]}-{m[2]}' for m in MMDET_MODULES])
def test_mmdet_module_contract_parity(key, mmdet_type, kwargs):
    """Same weights, avg_factor, reduction_override and zero-weight behaviour as the
    MMDetection module a config would otherwise name."""
    from mmdet.registry import MODELS as MMDET_MODELS
    theirs = MMDET_MODELS.build(dict(type=mmdet_type, loss_weight=2.0, **kwargs))
    ours = build_module(key, loss_weight=2.0, **kwargs)
    pred, target = random_pairs(32, seed=23, dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    box_weight = torch.rand(32, 4, generator=generator)
    point_weight = torch.rand(32, generator=generator)
    calls = [dict(), dict(reduction_override='sum'), dict(reduction_override='none'),
             dict(weight=box_weight), dict(weight=box_weight, avg_factor=7.0),
             dict(weight=point_weight if key not in ('l1', 'smooth_l1', 'l2',
                                                     'balanced_l1')
                  else point_weight[:, None].expand(32, 4), avg_factor=5.0),
             dict(weight=torch.zeros(32, 4))]
    for call in calls:
        torch.testing.assert_close(ours(pred, target, **call),
                                   theirs(pred, target, **call), **PARITY_TOL,
                                   msg=lambda m: f'{call}: {m}')


@pytest.mark.parametrize('key,reference', [
    ('giou', tv_generalized_box_iou_loss), ('diou', tv_distance_box_iou_loss),
    ('ciou', tv_complete_box_iou_loss)], ids=['giou', 'diou', 'ciou'])
def test_torchvision_parity(key, reference):
    """torchvision's CIoU is the paper's (no IoU gate): aspect_iou_threshold=None."""
    pred, target = random_pairs(256, seed=24)
    ours, ours_grad = _value_and_grad(
        lambda p, t: call_functional(key, p, t, eps=1e-7), pred, target)
    theirs, theirs_grad = _value_and_grad(reference, pred, target)
    torch.testing.assert_close(ours, theirs, **PARITY_TOL)
    torch.testing.assert_close(ours_grad, theirs_grad, **PARITY_TOL)


# --------------------------------------------------------------- pinned differences
def _case(name):
    case = CASES_BY_NAME[name]
    return torch.tensor([case.pred]).double(), torch.tensor([case.target]).double()


def test_eiou_is_efficient_iou_not_mmdet_extended_iou():
    """Quarter box: Efficient-IoU 1 - 1/4 + 1/16 + 1/4 + 1/4 = 1.3125; MMDetection's
    ``eiou_loss`` is Extended-IoU, smooth-L1 of 1 - IoU with smooth_point 0.1:
    0.75 - 0.1 / 2 = 0.7."""
    pred, target = _case('quarter_inside')
    assert F.eiou_loss(pred, target).item() == pytest.approx(1.3125, rel=1e-6)
    assert mmdet_iou.eiou_loss(pred, target, reduction='none').item() == \
        pytest.approx(0.7, rel=1e-6)


def test_ciou_paper_versus_mmdet_gate():
    """tall_low_iou has IoU 0.32 < 0.5: MMDetection (and aspect_iou_threshold=0.5)
    drop a v, the AAAI paper's CIoU (the default, torchvision's) keeps it."""
    pred, target = _case('tall_low_iou')
    expected = CASES_BY_NAME['tall_low_iou'].expected
    theirs = mmdet_iou.ciou_loss(pred, target, reduction='none').item()
    assert theirs == pytest.approx(expected['ciou_gated'], rel=1e-6)
    assert F.ciou_loss(pred, target, aspect_iou_threshold=0.5).item() == \
        pytest.approx(theirs, rel=1e-6)
    paper = F.ciou_loss(pred, target).item()
    assert paper == pytest.approx(expected['ciou'], rel=1e-6)
    assert paper - theirs == pytest.approx(expected['ciou'] - expected['diou'],
                                           rel=1e-5)
    assert tv_complete_box_iou_loss(pred, target).item() == pytest.approx(paper,
                                                                          rel=1e-6)


def test_siou_mmdet_default_gamma_is_not_the_papers():
    """Side by side: the paper's distance cost is 1 - e^(-2 (1/2)^2) > 0, MMDetection's
    default ``neg_gamma=False`` uses 1 - e^(+2 (1/2)^2) < 0, so the far box scores a
    *lower* loss than plain 1 - IoU: 1 + (1 - e^0.5) / 2 = 0.676."""
    pred, target = _case('side_by_side')
    theirs_default = mmdet_iou.siou_loss(pred, target, reduction='none').item()
    assert theirs_default == pytest.approx(1 + (1 - math.exp(0.5)) / 2, rel=1e-5)
    assert F.siou_loss(pred, target).item() == pytest.approx(
        1 + (1 - math.exp(-0.5)) / 2, rel=1e-6)


def test_half_precision_image_scale_where_mmdet_overflows():
    """Boxes of 500x400 px in float16: their areas (2e5) overflow float16, so
    MMDetection's GIoU/DIoU/CIoU/SIoU return inf or NaN and its log-IoU the eps
    floor; ours upcast once and match float32."""
    pred = torch.tensor([[0, 0, 500, 400], [100, 100, 900, 700]], dtype=torch.float16)
    target = torch.tensor([[10, 20, 520, 410], [120, 90, 880, 720]],
                          dtype=torch.float16)
    for key, theirs_fn in [('giou', mmdet_iou.giou_loss),
                           ('diou', mmdet_iou.diou_loss),
                           ('ciou_gated', mmdet_iou.ciou_loss)]:
        theirs = theirs_fn(pred, target, reduction='none')
        assert not torch.isfinite(theirs).any(), key
    theirs_log = mmdet_iou.iou_loss(pred, target, mode='log', reduction='none')
    assert theirs_log.float().tolist() == pytest.approx([-math.log(1e-6)] * 2,
                                                        rel=1e-3)
    for key in IOU_FAMILY:
        ours = call_functional(key, pred, target)
        assert ours.dtype == torch.float16
        torch.testing.assert_close(ours.float(),
                                   call_functional(key, pred.float(), target.float()),
                                   rtol=1e-3, atol=1e-3, msg=key)
