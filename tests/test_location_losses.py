"""Location losses: hand-derived values, gradients, degenerate boxes, invariants.

Parity with MMDetection and torchvision is in ``test_location_parity.py``; the module
contract, errors, WIoU's running mean and the registry in ``test_location_contract.py``.
"""
import math

import pytest
import torch

import mmdet_losses.functional as F
from cases import CASES, CASES_BY_NAME, VARIANT_CASES
from location_specs import (DEGENERATE_PAIRS, IOU_FAMILY, LOSSES, RUNNING_MEAN,
                            build_module, call_functional, degenerate_batch,
                            random_pairs)
from reference_boxes import aspect_term, centre_distance_sq, enclosing_diag_sq

TABLE_KEYS = tuple(CASES[0].expected)
# Hand values ignore eps = 1e-6 in the denominators (relative effect ~1e-8).
TABLE_TOL = dict(rtol=1e-6, atol=1e-6)
# WIoU v3 divides by (running mean + eps): beta moves by ~1e-5 relative at mean 0.25.
VARIANT_TOL = dict(rtol=1e-5, atol=1e-6)


def _case_tensors(case, dtype=torch.float64):
    pred = torch.tensor([case.pred], dtype=dtype)
    target = torch.tensor([case.target], dtype=dtype)
    return pred, target


def _expected(value, per_box: bool):
    return torch.tensor([value] if per_box else [list(value)], dtype=torch.float64)


def test_table_is_complete():
    assert set(TABLE_KEYS) == set(LOSSES) - set(RUNNING_MEAN)
    for case in CASES:
        assert set(case.expected) == set(TABLE_KEYS), case.name


# ---------------------------------------------------------------- hand-derived values
@pytest.mark.parametrize('key', TABLE_KEYS)
@pytest.mark.parametrize('case', CASES, ids=lambda case: case.name)
def test_table_functional(case, key):
    pred, target = _case_tensors(case)
    loss = call_functional(key, pred, target)
    torch.testing.assert_close(loss, _expected(case.expected[key], LOSSES[key].per_box),
                               **TABLE_TOL)


@pytest.mark.parametrize('key', TABLE_KEYS)
def test_table_module(key):
    """All cases at once through the registered module: 'none' gives the table,
    'mean' and 'sum' its mean and sum, float32 within float32 rounding."""
    pred = torch.tensor([case.pred for case in CASES], dtype=torch.float32)
    target = torch.tensor([case.target for case in CASES], dtype=torch.float32)
    per_box = LOSSES[key].per_box
    expected = torch.cat([_expected(case.expected[key], per_box) for case in CASES])
    module = build_module(key, reduction='none')
    loss = module(pred, target)
    assert loss.dtype == torch.float32
    assert loss.shape == ((len(CASES), ) if per_box else (len(CASES), 4))
    torch.testing.assert_close(loss.double(), expected, rtol=2e-5, atol=2e-5)
    torch.testing.assert_close(module(pred, target, reduction_override='mean').double(),
                               expected.mean(), rtol=2e-5, atol=2e-5)
    torch.testing.assert_close(module(pred, target, reduction_override='sum').double(),
                               expected.sum(), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize('variant', VARIANT_CASES,
                         ids=lambda v: f'{v.loss}-{v.kwargs}-{v.case}')
def test_variant_values(variant):
    """Alpha-IoU, Focal-EIoU, SIoU theta, NWD constant, Smooth L1 beta, WIoU v2/v3,
    the hyper-parameters of MPDIoU, Shape-IoU, PIoU, Balanced L1, and the Inner-IoU /
    Focaler-IoU modifiers."""
    case = CASES_BY_NAME[variant.case]
    pred, target = _case_tensors(case)
    expected = _expected(variant.expected, LOSSES[variant.loss].per_box)
    torch.testing.assert_close(call_functional(variant.loss, pred, target,
                                               **variant.kwargs),
                               expected, **VARIANT_TOL)
    module = build_module(variant.loss, reduction='none', **variant.kwargs)
    torch.testing.assert_close(module(pred, target), expected, **VARIANT_TOL)


# --------------------------------------------------------------------------- gradients
GRADCHECK_LOSSES = [(key, {}) for key, spec in LOSSES.items()
                    if not spec.stop_gradient] + [
    ('iou_linear', dict(alpha=3.0)), ('giou', dict(alpha=3.0)),
    ('diou', dict(alpha=0.5)), ('eiou', dict(alpha=2.0)), ('siou', dict(theta=2.0)),
    ('smooth_l1', dict(beta=0.5)), ('nwd', dict(constant=3.0)),
    ('shape_iou', dict(scale=1.0)), ('shape_iou', dict(alpha=3.0)),
    ('mpdiou', dict(alpha=2.0)), ('piou_v2', dict(focus_lambda=2.0)),
    ('balanced_l1', dict(beta=0.5)), ('giou', dict(inner_ratio=0.7)),
    ('diou', dict(focaler_range=(0.1, 0.9))),
    ('ciou_gated', dict(inner_ratio=1.3)),
    ('piou', dict(inner_ratio=1.3, focaler_range=(0.0, 0.6))),
    ('iou_linear', dict(alpha=2.0, inner_ratio=0.8, focaler_range=(0.05, 0.7)))]


@pytest.mark.parametrize('key,kwargs', GRADCHECK_LOSSES,
                         ids=[f'{k}-{kw}' for k, kw in GRADCHECK_LOSSES])
def test_gradcheck(key, kwargs):
    pred, target = random_pairs(6, seed=1)
    pred.requires_grad_(True)
    target.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda p, t: call_functional(key, p, t, **kwargs), (pred, target))


def _frozen_reference(key, pred, target, pred0, eps=1e-6):
    """The loss with the paper's constant terms evaluated at ``pred0``."""
    with torch.no_grad():
        iou0 = 1 - F.iou_loss(pred0, target, mode='linear')
    if key in ('ciou', 'ciou_gated'):
        with torch.no_grad():
            v0 = aspect_term(pred0, target)
            tradeoff = v0 / (1 - iou0 + v0 + eps)
            if key == 'ciou_gated':
                tradeoff = tradeoff * (iou0 >= 0.5)
        return F.diou_loss(pred, target) + tradeoff * aspect_term(pred, target)
    if key == 'eiou_focal':
        return iou0.pow(0.5) * F.eiou_loss(pred, target)
    iou = 1 - F.iou_loss(pred, target, mode='linear')
    diag0 = enclosing_diag_sq(pred0, target).detach()
    v1 = torch.exp(centre_distance_sq(pred, target) / (diag0 + eps)) * (1 - iou)
    if key == 'wiou_v1':
        return v1
    outlier = (1 - iou0) / (0.5 + eps)       # running mean 0.5 (LOSSES['wiou_v3'])
    if key == 'wiou_v2':
        return outlier.sqrt() * v1
    return outlier / (3 * 1.9**(outlier - 3)) * v1


@pytest.mark.parametrize('key', ['ciou', 'ciou_gated', 'wiou_v1', 'wiou_v2',
                                 'wiou_v3', 'eiou_focal'])
def test_stop_gradient_terms(key):
    """CIoU's trade-off, WIoU's enclosing diagonal and focusing factors and
    Focal-EIoU's IoU^gamma are constants for the gradient: the gradient equals that of
    the loss with those terms frozen at the current boxes (which gradcheck covers)."""
    pred0, target = random_pairs(8, seed=2)
    pred = pred0.clone().requires_grad_(True)
    if key == 'eiou_focal':
        loss = F.eiou_loss(pred, target, focal_gamma=0.5)
    else:
        loss = call_functional(key, pred, target)
    (grad, ) = torch.autograd.grad(loss.sum(), pred)
    frozen = pred0.clone().requires_grad_(True)
    reference = _frozen_reference(key, frozen, target, pred0)
    torch.testing.assert_close(loss, reference.detach(), rtol=1e-9, atol=1e-12)
    (grad_reference, ) = torch.autograd.grad(reference.sum(), frozen)
    torch.testing.assert_close(grad, grad_reference, rtol=1e-7, atol=1e-10)
    assert torch.autograd.gradcheck(
        lambda p: _frozen_reference(key, p, target, pred0), (frozen, ))


# ------------------------------------------------------------------- degenerate boxes
DEGENERATE_LOSSES = [(key, {}) for key in LOSSES] + [
    ('giou', dict(alpha=3.0)), ('diou', dict(alpha=0.5)), ('ciou', dict(alpha=0.5)),
    ('eiou', dict(focal_gamma=0.5)), ('smooth_l1', dict(beta=0.0)),
    ('shape_iou', dict(scale=1.0)), ('shape_iou', dict(scale=0.5)),
    ('piou_v2', dict(alpha=0.5)), ('balanced_l1', dict(beta=0.1)),
    ('giou', dict(inner_ratio=0.5)), ('iou_linear', dict(inner_ratio=1.5)),
    ('ciou', dict(inner_ratio=1.5, focaler_range=(0.2, 0.8))),
    ('mpdiou', dict(inner_ratio=0.7, alpha=0.5)),
    ('piou_v2', dict(focaler_range=(0.0, 0.5))),
    ('shape_iou', dict(focaler_range=(0.3, 0.31)))]
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


def _value_and_grads(key, kwargs, dtype):
    names, pred, target = degenerate_batch(dtype)
    pred.requires_grad_(True)
    target.requires_grad_(True)
    loss = call_functional(key, pred, target, **kwargs)
    loss.sum().backward()
    return names, loss.detach(), pred.grad, target.grad


@pytest.mark.parametrize('dtype', DTYPES, ids=str)
@pytest.mark.parametrize('key,kwargs', DEGENERATE_LOSSES,
                         ids=[f'{k}-{kw}' for k, kw in DEGENERATE_LOSSES])
def test_degenerate_boxes_finite(key, kwargs, dtype):
    """Zero-area, inverted, coincident, disjoint, nested, tiny and huge (1e4) boxes:
    finite values and gradients in every dtype, in the input's dtype. The one
    exception: a finite float64 result beyond the dtype's range (the float16 L2 loss
    of 1e4-pixel differences, 1e8) cannot be finite."""
    names, loss, grad_pred, grad_target = _value_and_grads(key, kwargs, dtype)
    _, loss64, grad_pred64, grad_target64 = _value_and_grads(key, kwargs,
                                                            torch.float64)
    assert loss.dtype == dtype and grad_pred.dtype == dtype
    limit = torch.finfo(dtype).max
    failures = []
    for i, name in enumerate(names):
        for what, value, exact in (('value', loss[i], loss64[i]),
                                   ('grad pred', grad_pred[i], grad_pred64[i]),
                                   ('grad target', grad_target[i], grad_target64[i])):
            # skip only a float64 result that is finite but out of the dtype's range
            out_of_range = torch.isfinite(exact).all() and exact.abs().max() > limit
            if not out_of_range:
                if not torch.isfinite(value).all():
                    failures.append(f'{name}: {what} {value.tolist()}')
    assert not failures, f'{key} {kwargs} in {dtype}: ' + '; '.join(failures)


BOUNDS = {'giou': (0.0, 2.0), 'diou': (0.0, 2.0), 'iou_linear': (0.0, 1.0),
          'iou_square': (0.0, 1.0), 'nwd': (0.0, 1.0)}


@pytest.mark.parametrize('key', sorted(BOUNDS))
def test_documented_range(key):
    """The documented ranges (GIoU and DIoU in [0, 2), NWD in [0, 1)) hold for random
    and degenerate pairs, inverted boxes included."""
    low, high = BOUNDS[key]
    _, pred, target = degenerate_batch()
    random_pred, random_target = random_pairs(256, seed=3)
    loss = call_functional(key, torch.cat([pred, random_pred]),
                           torch.cat([target, random_target]))
    names = list(DEGENERATE_PAIRS) + ['random'] * 256
    outside = [f'{names[i]}: {loss[i].item():.6g}' for i in range(len(names))
               if not low <= loss[i].item() <= high]
    assert not outside, f'{key} outside [{low}, {high}]: {outside}'


# ---------------------------------------------------------------------- empty input
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
@pytest.mark.parametrize('key', list(LOSSES))
def test_empty_input(key, reduction):
    pred = torch.zeros(0, 4, requires_grad=True)
    target = torch.zeros(0, 4)
    module = build_module(key, reduction=reduction)
    loss = module(pred, target)
    assert loss.shape == () and loss.item() == 0.0
    loss.backward()
    assert pred.grad is not None and pred.grad.shape == (0, 4)
    none = module(pred, target, reduction_override='none')
    assert none.shape == ((0, ) if LOSSES[key].per_box else (0, 4))
    with_avg = build_module(key)(pred, target, weight=torch.zeros(0),
                                 avg_factor=0.0)
    assert with_avg.item() == 0.0 and with_avg.requires_grad


# ------------------------------------------------------------------------ invariants
def test_diou_equals_linear_iou_at_coincident_centres():
    pred, target = random_pairs(64, seed=4)
    centre = (target[:, :2] + target[:, 2:]) / 2
    half = (pred[:, 2:] - pred[:, :2]) / 2
    pred = torch.cat([centre - half, centre + half], dim=1)
    torch.testing.assert_close(F.diou_loss(pred, target),
                               F.iou_loss(pred, target, mode='linear'))
    # ... and Wise-IoU v1's distance attention is 1 there
    torch.testing.assert_close(F.wiou_loss(pred, target),
                               F.iou_loss(pred, target, mode='linear'))


def test_ciou_equals_diou_for_equal_aspect_ratios():
    pred, target = random_pairs(64, seed=5)
    target_size = target[:, 2:] - target[:, :2]
    scale = torch.rand(64, 1, generator=torch.Generator().manual_seed(0),
                       dtype=torch.float64) + 0.5
    pred = torch.cat([pred[:, :2], pred[:, :2] + scale * target_size], dim=1)
    for threshold in (None, 0.5):
        torch.testing.assert_close(
            F.ciou_loss(pred, target, aspect_iou_threshold=threshold),
            F.diou_loss(pred, target))


def test_ciou_angle_gap_is_the_difference_of_two_atans():
    """One atan of ``(r^gt - r) / (1 + r^gt r)`` equals ``atan r^gt - atan r`` for
    sizes >= 0, zero widths and heights (ratios up to w / eps) included, and
    autograd through it gives a point box exactly no height gradient."""
    from mmdet_losses.functional.location.geometry import aligned_box_terms
    from mmdet_losses.functional.location.iou import aspect_angle_gap
    pred, target = random_pairs(200, seed=9)
    pred[:20, 3] = pred[:20, 1]          # zero heights: r = w / eps
    pred[20:40, 2] = pred[20:40, 0]      # zero widths: r = 0
    target[40:60, 3] = target[40:60, 1]
    pred[60:80] = pred[60:80, :2].repeat(1, 2)  # point boxes
    pred.requires_grad_(True)
    for eps in (1e-6, 1e-3):
        terms = aligned_box_terms(pred, target, eps)
        two = torch.atan(terms.target_w / (terms.target_h + eps)) - \
            torch.atan(terms.pred_w / (terms.pred_h + eps))
        torch.testing.assert_close(aspect_angle_gap(terms, eps), two, rtol=1e-12,
                                   atol=1e-12)
    gap = aspect_angle_gap(aligned_box_terms(pred, target, 1e-6), 1e-6)
    grad, = torch.autograd.grad(gap.sum(), pred)
    assert (grad[60:80, 1] == 0).all() and (grad[60:80, 3] == 0).all()
    assert torch.isfinite(grad).all()


def test_eiou_equals_diou_for_equal_sizes():
    pred, target = random_pairs(64, seed=6)
    pred = torch.cat([pred[:, :2], pred[:, :2] + target[:, 2:] - target[:, :2]], 1)
    torch.testing.assert_close(F.eiou_loss(pred, target), F.diou_loss(pred, target))


def test_smooth_l1_tends_to_l1():
    pred, target = random_pairs(64, seed=7)
    l1 = F.l1_loss(pred, target)
    # below 1e-5 it is L1 exactly, beta = 0 included (no 0 * inf gradient)
    for beta in (0.0, 1e-6, 9.9e-6):
        assert torch.equal(F.smooth_l1_loss(pred, target, beta=beta), l1)
    pred.requires_grad_(True)
    F.smooth_l1_loss(pred, target, beta=0.0).sum().backward()
    torch.testing.assert_close(pred.grad, torch.sign(pred - target).detach())
    # beyond beta the linear branch is l1 - beta / 2; below it 0.5 d^2 / beta <= beta/2
    for beta in (1e-2, 1e-3, 1e-4):
        smooth = F.smooth_l1_loss(pred.detach(), target, beta=beta)
        assert (l1 - smooth).abs().max() <= beta / 2 + 1e-12


@pytest.mark.parametrize('key', [k for k in IOU_FAMILY if k not in
                                 ('iou_log', 'iou_square', 'nwd')])
def test_alpha_one_is_plain(key):
    pred, target = random_pairs(32, seed=8)
    assert torch.equal(call_functional(key, pred, target, alpha=1.0),
                       call_functional(key, pred, target))


def test_alpha_iou_reorders_by_power():
    """1 - IoU^alpha + P^alpha, checked against the plain terms on random pairs."""
    pred, target = random_pairs(32, seed=9)
    iou = 1 - F.iou_loss(pred, target, mode='linear')
    distance = F.diou_loss(pred, target) - (1 - iou)
    torch.testing.assert_close(F.diou_loss(pred, target, alpha=3.0),
                               1 - iou**3 + distance**3)
    hull = F.giou_loss(pred, target) - (1 - iou)
    torch.testing.assert_close(F.giou_loss(pred, target, alpha=0.5),
                               1 - iou**0.5 + hull.clamp(min=0)**0.5)


def test_focal_eiou_is_iou_power_times_eiou():
    pred, target = random_pairs(32, seed=10)
    iou = 1 - F.iou_loss(pred, target, mode='linear')
    for gamma in (0.5, 2.0):
        torch.testing.assert_close(F.eiou_loss(pred, target, focal_gamma=gamma),
                                   iou**gamma * F.eiou_loss(pred, target))


@pytest.mark.parametrize('key', list(LOSSES))
def test_translation_invariance(key):
    pred, target = random_pairs(32, seed=11)
    shift = torch.tensor([[37.0, -12.5, 37.0, -12.5]], dtype=torch.float64)
    torch.testing.assert_close(call_functional(key, pred + shift, target + shift),
                               call_functional(key, pred, target))


# NWD's constant and MPDIoU's image size are absolute lengths
@pytest.mark.parametrize('key', [k for k in IOU_FAMILY if k not in ('nwd', 'mpdiou')])
def test_scale_invariance(key):
    pred, target = random_pairs(32, seed=12)
    torch.testing.assert_close(call_functional(key, 8 * pred, 8 * target),
                               call_functional(key, pred, target))


def test_nwd_scales_with_its_constant():
    pred, target = random_pairs(32, seed=13)
    torch.testing.assert_close(F.nwd_loss(8 * pred, 8 * target, constant=8 * 12.8),
                               F.nwd_loss(pred, target), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('key', ['iou_linear', 'giou', 'diou', 'ciou', 'eiou',
                                 'siou', 'wiou_v1', 'nwd', 'l1', 'l2', 'smooth_l1'])
def test_symmetric(key):
    pred, target = random_pairs(32, seed=14)
    torch.testing.assert_close(call_functional(key, target, pred),
                               call_functional(key, pred, target))


@pytest.mark.parametrize('key', [k for k in IOU_FAMILY if k != 'iou_log'])
def test_zero_only_for_identical_boxes(key):
    pred, target = random_pairs(32, seed=15)
    assert torch.all(call_functional(key, target, target).abs() < 1e-6)
    assert torch.all(call_functional(key, pred, target) > 1e-3)


def test_image_scale_half_precision_is_finite_and_accurate():
    """Boxes up to 1000 px in float16: areas overflow float16 (65504), so the
    geometry runs in float32; every IoU-family loss is finite and equals the float32
    loss to float16 rounding."""
    generator = torch.Generator().manual_seed(16)
    corner = torch.randint(0, 500, (64, 2), generator=generator)
    size = torch.randint(100, 500, (64, 2), generator=generator)
    pred = torch.cat([corner, corner + size], 1).float()
    target = (pred + torch.randint(-40, 40, (64, 4), generator=generator)).float()
    for key in IOU_FAMILY:
        half = call_functional(key, pred.half(), target.half())
        single = call_functional(key, pred, target)
        assert half.dtype == torch.float16 and torch.isfinite(half).all(), key
        torch.testing.assert_close(half.float(), single, rtol=2e-3, atol=1e-3,
                                   msg=key)


def test_log_iou_floor_is_documented_eps():
    pred = torch.tensor([[20.0, 20, 30, 30]])
    target = torch.tensor([[0.0, 0, 10, 10]])
    assert F.iou_loss(pred, target, mode='log', eps=1e-3).item() == pytest.approx(
        -math.log(1e-3), rel=1e-6)
