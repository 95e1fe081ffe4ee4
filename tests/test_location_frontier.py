"""The IoU frontier: MPDIoU, Shape-IoU, PIoU v1/v2, WIoU v2 and the Inner-IoU /
Focaler-IoU modifiers; their properties beyond the case table (tests/cases.py), the
official codes' formulas, and the modifiers as one mechanism on every base loss."""
import math

import pytest
import torch

import mmdet_losses.functional as F
from mmdet_losses import MODELS
from location_specs import (IOU_MODIFIABLE, LOSSES, build_module, call_functional,
                            random_pairs)
from reference_boxes import (inner_iou, official_piou_loss, official_shape_iou_loss,
                             plain_iou)

MODIFIERS = [dict(inner_ratio=0.7), dict(inner_ratio=1.4),
             dict(focaler_range=(0.1, 0.6)),
             dict(inner_ratio=1.2, focaler_range=(0.0, 0.5))]


def _modified_reference(pred, target, inner_ratio=None, focaler_range=None):
    """IoU and IoU_mod from the reference formulas (no geometry core)."""
    iou = plain_iou(pred, target, eps=1e-6)
    modified = iou if inner_ratio is None else inner_iou(pred, target, inner_ratio,
                                                          eps=1e-6)
    if focaler_range is not None:
        low, high = focaler_range
        modified = ((modified - low) / (high - low)).clamp(0, 1)
    return iou, modified


# --------------------------------------------------------- the modifiers, one rule
@pytest.mark.parametrize('modifiers', MODIFIERS, ids=str)
@pytest.mark.parametrize('key', IOU_MODIFIABLE)
def test_modifier_adds_iou_minus_modified_iou(key, modifiers):
    """L_mod-X = L_X + IoU - IoU_mod for every base loss, the same correction for
    all of them (one mechanism), with IoU_mod = Focaler(IoU(inner boxes))."""
    pred, target = random_pairs(64, seed=40)
    iou, modified = _modified_reference(pred, target, **modifiers)
    torch.testing.assert_close(
        call_functional(key, pred, target, **modifiers),
        call_functional(key, pred, target) + iou - modified)


@pytest.mark.parametrize('key', IOU_MODIFIABLE)
def test_neutral_modifiers_are_the_plain_loss(key):
    """inner_ratio 1 and focaler_range (0, 1) change nothing."""
    pred, target = random_pairs(32, seed=41)
    plain = call_functional(key, pred, target)
    torch.testing.assert_close(call_functional(key, pred, target, inner_ratio=1.0),
                               plain, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        call_functional(key, pred, target, focaler_range=(0.0, 1.0)), plain,
        rtol=0, atol=1e-12)


def test_modifiers_take_the_alpha_power():
    """With Alpha-IoU the modified IoU replaces the IoU inside the power:
    1 - IoU_mod^alpha + P^alpha."""
    pred, target = random_pairs(32, seed=42)
    iou, modified = _modified_reference(pred, target, 0.8, (0.05, 0.8))
    hull = F.giou_loss(pred, target) - (1 - iou)
    torch.testing.assert_close(
        F.giou_loss(pred, target, alpha=3.0, inner_ratio=0.8,
                    focaler_range=(0.05, 0.8)),
        1 - modified.clamp(min=torch.finfo(torch.float64).tiny)**3 + hull**3)


def test_focaler_gradient_vanishes_outside_its_interval():
    """The IoU term is flat outside [d, u]: the Focaler-IoU loss (linear IoU) of a
    box with IoU below d is 1 with zero gradient, above u 0 with zero gradient; inside,
    the gradient is that of -IoU scaled by 1 / (u - d)."""
    pred = torch.tensor([[0.0, 0, 5, 5], [0, 0, 9.5, 10], [2, 2, 12, 12]],
                        dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[0.0, 0, 10, 10]] * 3, dtype=torch.float64)
    # IoUs: 1/4 (below d), 0.95 (above u), 64/136 (inside)
    loss = F.iou_loss(pred, target, mode='linear', focaler_range=(0.3, 0.9))
    iou = 64 / 136
    torch.testing.assert_close(loss, torch.tensor([1.0, 0.0, 1 - (iou - 0.3) / 0.6],
                                                  dtype=torch.float64))
    (grad, ) = torch.autograd.grad(loss.sum(), pred)
    assert torch.equal(grad[:2], torch.zeros(2, 4, dtype=torch.float64))
    plain = pred.detach().clone().requires_grad_(True)
    (plain_grad, ) = torch.autograd.grad(
        F.iou_loss(plain, target, mode='linear')[2], plain)
    torch.testing.assert_close(grad[2], plain_grad[2] / 0.6)


def test_inner_ratio_above_one_gives_disjoint_boxes_a_gradient():
    """1 px apart, IoU is 0 and so is its gradient; the boxes enlarged 1.5 times,
    (8.5,-2.5,23.5,12.5) and (-2.5,-2.5,12.5,12.5), overlap (4 x 15 = 60 of 390), and
    their IoU pulls the box towards its target."""
    pred = torch.tensor([[11.0, 0, 21, 10]], requires_grad=True)
    target = torch.tensor([[0.0, 0, 10, 10]])
    loss = F.iou_loss(pred, target, mode='linear', inner_ratio=1.5)
    assert loss.item() == pytest.approx(1 + 0 - 60 / 390, rel=1e-6)
    (grad, ) = torch.autograd.grad(loss.sum(), pred)
    assert grad[0, 0] + grad[0, 2] > 0     # moving the box left lowers the loss
    (plain, ) = torch.autograd.grad(F.iou_loss(pred, target, mode='linear').sum(),
                                    pred)
    assert torch.equal(plain, torch.zeros_like(plain))


# Two zero-width boxes side by side in y (the example), a zero-width box
# inside a proper one, coincident boxes.
HALF_PRED = [[10.0, 12, 10, 30], [3, 3, 3, 8], [0, 0, 10, 10]]
HALF_TARGET = [[10.0, 10, 10, 25], [0, 0, 10, 10], [0, 0, 10, 10]]


@pytest.mark.parametrize('modifiers', [dict(inner_ratio=0.8),
                                       dict(focaler_range=(0.1, 0.9))], ids=str)
@pytest.mark.parametrize('key', IOU_MODIFIABLE)
def test_modifiers_in_float16_have_the_float32_gradient(key, modifiers):
    """The loss and its modifier's correction both carry the IoU's gradient with
    opposite signs; on two zero-width boxes it is about 1e7 (the overlap's
    derivative over a union of eps), beyond float16's range. Upcast once and cast
    back once, the two cancel before the cast and float16 gets float32's gradient,
    rounded: 0 at the x-coordinates of the first pair with Focaler-IoU (where the
    plain IoU's gradient is all there was), and +-inf with Inner-IoU, whose
    auxiliary boxes keep a 3.9e6 gradient there, as the plain loss in float16 has
    (two casts gave inf - inf = NaN)."""
    grads = []
    for dtype in (torch.float16, torch.float32):
        pred = torch.tensor(HALF_PRED, dtype=dtype, requires_grad=True)
        target = torch.tensor(HALF_TARGET, dtype=dtype)
        loss = call_functional(key, pred, target, **modifiers)
        assert loss.dtype == dtype
        loss.sum().backward()
        grads.append(pred.grad)
    half, single = grads
    assert not torch.isnan(half).any(), half
    torch.testing.assert_close(half, single.to(torch.float16), rtol=1e-2, atol=1e-3)


def test_focaler_module_in_float16_matches_float32():
    """The issue's reproduction: DIoU with Focaler-IoU on two zero-width boxes, run
    eagerly; the gradient is d(rho^2 / c^2) alone: 0 in x, 0.0088 and 0.0057 in y."""
    grads = []
    for dtype in (torch.float16, torch.float32):
        pred = torch.tensor(HALF_PRED[:1], dtype=dtype, requires_grad=True)
        loss = MODELS.build(dict(type='mmdet_losses.DIoULoss',
                                 focaler_range=(0.1, 0.9)))
        loss(pred, torch.tensor(HALF_TARGET[:1], dtype=dtype)).backward()
        grads.append(pred.grad)
    assert grads[0].dtype == torch.float16
    torch.testing.assert_close(grads[0].float(), grads[1], rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(grads[1], torch.tensor([[0.0, 0.00875, 0.0, 0.0056875]]),
                               rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize('loss_type,extra', [
    ('IoULoss', dict(mode='linear')), ('GIoULoss', {}), ('DIoULoss', {}),
    ('CIoULoss', dict(aspect_iou_threshold=0.5)), ('EIoULoss', dict(focal_gamma=0.5)),
    ('SIoULoss', {}), ('MPDIoULoss', dict(image_size=(64, 48))),
    ('ShapeIoULoss', dict(scale=0.5)), ('PIoULoss', dict(version='v2'))])
def test_modules_take_the_modifiers(loss_type, extra):
    """Every IoU-family module passes inner_ratio and focaler_range to its function,
    through weights and avg_factor like any hyper-parameter."""
    pred, target = random_pairs(16, seed=43, dtype=torch.float32)
    weight = torch.rand(16, generator=torch.Generator().manual_seed(0))
    config = dict(type=f'mmdet_losses.{loss_type}', **extra)
    plain = MODELS.build(config)
    modified = MODELS.build(dict(config, inner_ratio=0.8, focaler_range=[0.1, 0.9]))
    assert type(modified).__module__.startswith('mmdet_losses')
    assert modified.focaler_range == (0.1, 0.9) and modified.inner_ratio == 0.8
    assert 'inner_ratio' not in plain.loss_kwargs()
    assert 'focaler_range=(0.1, 0.9)' in repr(modified)
    iou, mod = _modified_reference(pred.double(), target.double(), 0.8, (0.1, 0.9))
    expected = ((plain(pred, target, reduction_override='none').double() + iou - mod)
                * weight).sum() / (5.0 + torch.finfo(torch.float32).eps)
    torch.testing.assert_close(modified(pred, target, weight=weight,
                                        avg_factor=5.0).double(),
                               expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------- MPDIoU
def test_mpdiou_is_iou_loss_plus_corner_distances():
    pred, target = random_pairs(64, seed=44)
    corners = ((pred - target)**2)
    expected = 1 - plain_iou(pred, target, eps=1e-6) + \
        (corners[:, :2].sum(1) + corners[:, 2:].sum(1)) / (1333**2 + 800**2)
    torch.testing.assert_close(F.mpdiou_loss(pred, target, (1333, 800)), expected)


def test_mpdiou_scales_with_boxes_and_image_together():
    """The corner terms are relative to the image: scaling boxes alone changes the
    loss, scaling boxes and image together does not."""
    pred, target = random_pairs(32, seed=45)
    base = F.mpdiou_loss(pred, target, (100, 60))
    torch.testing.assert_close(F.mpdiou_loss(4 * pred, 4 * target, (400, 240)), base)
    penalty = base - F.iou_loss(pred, target, mode='linear')
    torch.testing.assert_close(
        F.mpdiou_loss(4 * pred, 4 * target, (100, 60)) -
        F.iou_loss(pred, target, mode='linear'), 16 * penalty)


# ---------------------------------------------------------------------- Shape-IoU
def test_shape_iou_weights_offsets_by_the_targets_shape():
    """A 10 x 4 target (scale 1: ww = 2*10/14 = 10/7, hh = 2*4/14 = 4/7).
    Shifted 2 px along x, pred (2,0,12,4): IoU 32/48, rho^2 4, c^2 = 12^2 + 4^2 = 160:
    1/3 + hh 4/160 = 1/3 + 1/70. Shifted 1 px along y, pred (0,1,10,5): IoU 30/50,
    rho^2 1, c^2 = 10^2 + 5^2 = 125: 0.4 + ww/125 = 0.4 + 10/875. At scale 0 both
    weights are 1 (DIoU's distance): 1/3 + 1/40 and 0.4 + 1/125."""
    target = torch.tensor([[0.0, 0, 10, 4]] * 2, dtype=torch.float64)
    pred = torch.tensor([[2.0, 0, 12, 4], [0, 1, 10, 5]], dtype=torch.float64)
    torch.testing.assert_close(
        F.shape_iou_loss(pred, target, scale=1.0),
        torch.tensor([1 / 3 + 1 / 70, 0.4 + 10 / 875], dtype=torch.float64))
    torch.testing.assert_close(
        F.shape_iou_loss(pred, target),
        torch.tensor([1 / 3 + 1 / 40, 0.4 + 1 / 125], dtype=torch.float64))


@pytest.mark.parametrize('scale', [0.0, 0.5, 1.0, 2.0])
def test_shape_iou_matches_the_official_formula(scale):
    """The official code fixes the shape-cost exponent at theta = 4, the paper's
    value and our default; values and gradients agree on well-formed boxes."""
    pred, target = random_pairs(128, seed=46)
    ours = pred.clone().requires_grad_(True)
    theirs = pred.clone().requires_grad_(True)
    loss = F.shape_iou_loss(ours, target, scale=scale, eps=1e-7)
    reference = official_shape_iou_loss(theirs, target, scale=scale)
    torch.testing.assert_close(loss, reference, rtol=1e-6, atol=1e-7)
    loss.sum().backward()
    reference.sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-6, atol=1e-7)
    # theta is a parameter here: 2 differs from the official 4
    assert not torch.allclose(F.shape_iou_loss(pred, target, scale=scale, theta=2.0),
                              reference.detach())


def test_shape_iou_at_scale_zero_is_diou_plus_half_the_siou_shape_cost():
    pred, target = random_pairs(64, seed=47)
    w, h = (pred[:, 2:] - pred[:, :2]).unbind(-1)
    wg, hg = (target[:, 2:] - target[:, :2]).unbind(-1)
    shape = (1 - torch.exp(-(w - wg).abs() / torch.max(w, wg)))**4 + \
        (1 - torch.exp(-(h - hg).abs() / torch.max(h, hg)))**4
    torch.testing.assert_close(F.shape_iou_loss(pred, target),
                               F.diou_loss(pred, target) + shape / 2,
                               rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- PIoU
@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_piou_matches_the_official_formula(version):
    pred, target = random_pairs(128, seed=48)
    ours = pred.clone().requires_grad_(True)
    theirs = pred.clone().requires_grad_(True)
    loss = F.piou_loss(ours, target, version=version, eps=1e-7)
    reference = official_piou_loss(theirs, target, v2=version == 'v2')
    torch.testing.assert_close(loss, reference, rtol=1e-6, atol=1e-7)
    loss.sum().backward()
    reference.sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-6, atol=1e-7)


def test_piou_penalty_does_not_reward_growing_the_box():
    """The penalty factor measures edges against the target's size, so a prediction
    cannot lower it by enlarging itself. DIoU's distance term does shrink: its
    enclosing box grows with the prediction (the anchor enlargement the paper
    describes). Pred centred 4 px right of a 10 x 10 target, sides 10 -> 30:
    P = (|x1 - 0| + |x2 - 10| + |y1| + |y2 - 10|) / 40."""
    target = torch.tensor([[0.0, 0, 10, 10]] * 3, dtype=torch.float64)
    half = torch.tensor([5.0, 10, 15], dtype=torch.float64)
    pred = torch.stack([9 - half, 5 - half, 9 + half, 5 + half], dim=1)
    expected_p = ((pred - target).abs().sum(1)) / 40    # (4 + 4) / 40, 20/40, 40/40
    torch.testing.assert_close(expected_p, torch.tensor([0.2, 0.5, 1.0],
                                                        dtype=torch.float64))
    penalty = F.piou_loss(pred, target) - F.iou_loss(pred, target, mode='linear')
    torch.testing.assert_close(penalty, 1 - torch.exp(-expected_p**2))
    assert torch.all(penalty[1:] > penalty[:-1])
    distance = F.diou_loss(pred, target) - F.iou_loss(pred, target, mode='linear')
    assert torch.all(distance[1:] < distance[:-1])


def test_piou_v2_attention_peaks_at_medium_quality():
    """u(lambda q) / L_v1 = 3 x e^(-x^2), x = 1.3 e^(-P): largest, 3 e^(-1/2) / sqrt 2
    = 1.2867, at x = 1 / sqrt 2, i.e. P = ln(1.3 sqrt 2) = 0.6094; 3 * 1.3 e^(-1.69)
    = 0.7197 for a perfect box (P = 0); falling again for poor ones (0.512 at
    P = 2, 40 px away). The target
    moved by s px along x has P = 2 s / 40."""
    shifts = torch.linspace(0.0, 40.0, 4001, dtype=torch.float64)
    zero, size = torch.zeros_like(shifts), torch.full_like(shifts, 10.0)
    target = torch.stack([zero, zero, size, size], dim=1)
    pred = target + torch.stack([shifts, zero, shifts, zero], dim=1)
    ratio = F.piou_loss(pred, target, version='v2')[1:] / F.piou_loss(pred, target)[1:]
    peak = int(ratio.argmax())
    assert ratio[peak].item() == pytest.approx(3 * math.exp(-0.5) / math.sqrt(2),
                                               rel=1e-6)
    assert (shifts[1:][peak] / 20).item() == pytest.approx(math.log(1.3 * math.sqrt(2)),
                                                           abs=1e-3)
    # the first shift, 0.01 px: P = 0.0005
    x = 1.3 * math.exp(-0.0005)
    assert ratio[0].item() == pytest.approx(3 * x * math.exp(-x**2), rel=1e-9)
    assert 3 * 1.3 * math.exp(-1.69) == pytest.approx(0.7196, abs=1e-4)
    x = 1.3 * math.exp(-2.0)
    assert ratio[-1].item() == pytest.approx(3 * x * math.exp(-x**2), rel=1e-9)
    assert torch.all(ratio[peak + 1:] < ratio[peak:-1])


# ------------------------------------------------------------------------ WIoU v2
def test_wiou_v2_is_the_official_square_root_focusing():
    """The official code's monotonic focusing is (L_IoU* / mean)^(1/2): gamma 0.5."""
    pred, target = random_pairs(64, seed=49)
    mean = torch.tensor(0.4, dtype=torch.float64)
    plain = 1 - plain_iou(pred, target, eps=1e-6)
    torch.testing.assert_close(
        F.wiou_loss(pred, target, iou_loss_mean=mean, focus_gamma=0.5),
        (plain / (mean + 1e-6)).sqrt() * F.wiou_loss(pred, target))


def test_wiou_v2_is_monotonic_in_the_iou_loss():
    """v2's gain beta^gamma grows with L_IoU (v3's does not): along the shift path
    the ratio v2 / v1 increases strictly until the boxes are disjoint."""
    shifts = torch.linspace(0.5, 9.5, 50, dtype=torch.float64)
    zero, size = torch.zeros_like(shifts), torch.full_like(shifts, 10.0)
    target = torch.stack([zero, zero, size, size], dim=1)
    pred = target + torch.stack([shifts, zero, shifts, zero], dim=1)
    mean = torch.tensor(0.5, dtype=torch.float64)
    gain = F.wiou_loss(pred, target, iou_loss_mean=mean, focus_gamma=0.5) / \
        F.wiou_loss(pred, target)
    assert torch.all(gain[1:] > gain[:-1])
    v3 = F.wiou_loss(pred, target, iou_loss_mean=mean) / F.wiou_loss(pred, target)
    assert not torch.all(v3[1:] > v3[:-1])


def test_wiou_v2_functional_needs_the_running_mean():
    pred, target = random_pairs(4, seed=50)
    with pytest.raises(ValueError, match='iou_loss_mean'):
        F.wiou_loss(pred, target, focus_gamma=0.5)


def test_table_keys_cover_the_new_losses():
    for key in ('mpdiou', 'shape_iou', 'piou', 'piou_v2', 'wiou_v2', 'balanced_l1'):
        assert key in LOSSES
        module = build_module(key)
        assert type(module).__module__.startswith('mmdet_losses'), key
