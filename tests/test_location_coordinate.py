"""Coordinate losses: the float16 and integer rules of L1/L2/Smooth L1 (defects that
had them overflow into NaN and truncate integer means), Balanced L1 and GHM-R against
MMDetection's, and where ours stay finite and theirs do not."""
import importlib
import math

import pytest
import torch

import mmdet_losses.functional as F
from mmdet_losses import MODELS
from location_specs import random_pairs

mmdet_balanced_l1 = importlib.import_module('mmdet.models.losses.balanced_l1_loss')
mmdet_ghm = importlib.import_module('mmdet.models.losses.ghm_loss')
AVG_EPS = torch.finfo(torch.float32).eps
PARITY_TOL = dict(rtol=1e-5, atol=1e-6)


def build(name, **kwargs):
    loss = MODELS.build(dict(type=f'mmdet_losses.{name}', **kwargs))
    assert type(loss).__module__.startswith('mmdet_losses')
    return loss


# ----------------------------------------------------------- float16 and integers
def _far_row(dtype):
    # 8 boxes of zeros; one coordinate of the first target 300 px off
    pred = torch.zeros(8, 4, dtype=dtype)
    target = torch.zeros(8, 4, dtype=dtype)
    target[0, 0] = 300
    return pred, target


def test_l2_float16_does_not_overflow():
    """(0 - 300)^2 = 90000 is beyond float16 (65504): the mean over 32 coordinates is
    90000 / 32 = 2812.5, not inf (the value in float32, every loss's dtype for half
    predictions)."""
    pred, target = _far_row(torch.float16)
    loss = build('L2Loss')(pred, target)
    assert loss.dtype == torch.float32
    assert loss.item() == 2812.5
    assert build('L2Loss')(*_far_row(torch.float32)).item() == 2812.5


@pytest.mark.parametrize('weight_shape', [(8, ), (8, 4)])
def test_l2_float16_zero_weight_is_zero_not_nan(weight_shape):
    """That row's weight 0: the loss is 0 (float32: 0), not 0 * inf = NaN, and so is
    its gradient; the other rows keep theirs."""
    pred, target = _far_row(torch.float16)
    pred.requires_grad_(True)
    weight = torch.ones(weight_shape, dtype=torch.float16)
    weight[0] = 0
    loss = build('L2Loss')(pred, target, weight=weight)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred.grad))
    none = build('L2Loss')(pred, target, weight=weight, reduction_override='none')
    assert torch.isfinite(none).all() and none.abs().sum() == 0
    # a positive weight elsewhere: 1 px off in row 1 -> 1 / 32
    target[1, 1] = 1
    assert build('L2Loss')(pred, target, weight=weight).item() == pytest.approx(1 / 32)


@pytest.mark.parametrize('name,kwargs,expected', [
    # |1 - 0| = 1 on one of 4 coordinates: L1 1/4, L2 1/4, Smooth L1 (beta 1) 0.5/4,
    # (beta 0: L1) 1/4; Balanced L1 at d = 1 (linear branch, b = e^3 - 1):
    # (1.5 + 1.5/b - 0.5) / 4
    ('L1Loss', {}, 0.25), ('L2Loss', {}, 0.25), ('SmoothL1Loss', {}, 0.125),
    ('SmoothL1Loss', dict(beta=0.0), 0.25),
    ('BalancedL1Loss', {}, (1.0 + 1.5 / (math.e**3 - 1)) / 4)])
def test_integer_inputs_give_a_float_mean(name, kwargs, expected):
    """L1Loss([[0,0,10,10]], [[1,0,10,10]]) is 0.25 in float32, not a truncated 0."""
    pred = torch.tensor([[0, 0, 10, 10]])
    target = torch.tensor([[1, 0, 10, 10]])
    loss = build(name, **kwargs)(pred, target)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert build(name, **kwargs)(pred, target, reduction_override='sum').item() == \
        pytest.approx(4 * expected, rel=1e-6)
    none = build(name, **kwargs)(pred, target, reduction_override='none')
    assert none.dtype == torch.float32 and none.shape == (1, 4)


@pytest.mark.parametrize('fn', [F.l1_loss, F.l2_loss, F.smooth_l1_loss,
                                F.balanced_l1_loss])
def test_functionals_follow_the_dtype_rules(fn):
    """Integers -> float32; float16/bfloat16 computed in float32 and returned in
    their dtype; float64 stays float64."""
    pred = torch.tensor([[0, 0, 10, 10]])
    target = torch.tensor([[1, 0, 10, 10]])
    assert fn(pred, target).dtype == torch.float32
    assert fn(pred, target)[0, 0].item() > 0
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        assert fn(pred.to(dtype), target.to(dtype)).dtype == dtype


# ------------------------------------------------------------------- Balanced L1
def _value_and_grad(fn, pred, target):
    pred = pred.clone().requires_grad_(True)
    loss = fn(pred)
    (grad, ) = torch.autograd.grad(loss.sum(), pred)
    return loss.detach(), grad


@pytest.mark.parametrize('kwargs', [{}, dict(beta=0.11), dict(alpha=0.3, gamma=2.0),
                                    dict(beta=2.0)], ids=str)
def test_balanced_l1_equals_mmdet(kwargs):
    """Both branches (errors 0 to 20 against beta 0.11 to 2): value and gradient."""
    pred, target = random_pairs(128, seed=60)
    ours = _value_and_grad(lambda p: F.balanced_l1_loss(p, target, **kwargs),
                           pred, target)
    theirs = _value_and_grad(lambda p: mmdet_balanced_l1.balanced_l1_loss(
        p, target, reduction='none', **kwargs), pred, target)
    torch.testing.assert_close(ours[0], theirs[0], **PARITY_TOL)
    torch.testing.assert_close(ours[1], theirs[1], **PARITY_TOL)


def test_balanced_l1_meets_the_paper():
    """beta = 1: continuous at 1 in value and slope (alpha ln(b + 1) = gamma); the
    gradient below 1 is the paper's alpha ln(b |x| + 1)."""
    x = torch.tensor([0.3, 1 - 1e-9, 1.0, 1 + 1e-9], dtype=torch.float64,
                     requires_grad=True)
    loss = F.balanced_l1_loss(x, torch.zeros_like(x))
    (grad, ) = torch.autograd.grad(loss.sum(), x)
    b = math.e**3 - 1
    assert grad[0].item() == pytest.approx(0.5 * math.log(b * 0.3 + 1), rel=1e-9)
    torch.testing.assert_close(grad[1:], torch.full((3, ), 1.5, dtype=torch.float64),
                               rtol=1e-7, atol=1e-7)
    assert loss[1].item() == pytest.approx(loss[3].item(), abs=1e-8)


def test_balanced_l1_float16_large_errors_are_finite_where_mmdet_is_not():
    """Errors of 4000 in float16: b n = 76000 overflows in MMDetection's unselected
    log branch, and its zero gradient becomes 0 * inf = NaN; ours evaluates that
    branch at min(n, beta) in float32."""
    pred = torch.tensor([[0.0, 0, 4000, -4000]], dtype=torch.float16)
    target = torch.zeros(1, 4, dtype=torch.float16)
    theirs = _value_and_grad(lambda p: mmdet_balanced_l1.balanced_l1_loss(
        p, target, reduction='none'), pred, target)
    assert not torch.isfinite(theirs[1]).all()
    ours = _value_and_grad(lambda p: F.balanced_l1_loss(p, target), pred, target)
    assert ours[0].dtype == torch.float16
    assert torch.isfinite(ours[0]).all() and torch.isfinite(ours[1]).all()
    # gamma n + gamma / b - alpha beta = 6000 + 0.0786 - 0.5, in float16
    assert ours[0][0, 2].item() == pytest.approx(6000, rel=1e-3)
    torch.testing.assert_close(ours[1].float(), torch.tensor([[0.0, 0, 1.5, -1.5]]))


# -------------------------------------------------------------------------- GHM-R
def test_ghmr_hand_value():
    """Errors (0, 0, 0, 1), mu 0.02: g = 0 three times (bin 0) and 1 / sqrt(1.0004)
    (bin 9); n = 2 non-empty bins, N = 4: beta = 4 / (2 * 3) and 4 / (2 * 1).
    ASL1(0) = 0, ASL1(1) = sqrt(1.0004) - 0.02; mean = 2 * ASL1(1) / 4 (the mean's
    divisor N + float32 eps moves it by 3e-8)."""
    pred = torch.tensor([[0.0, 0, 0, 1]], dtype=torch.float64)
    target = torch.zeros(1, 4, dtype=torch.float64)
    asl1 = math.sqrt(1.0004) - 0.02
    loss = build('GHMR')
    assert loss(pred, target).item() == pytest.approx(2 * asl1 / 4, rel=1e-7)
    torch.testing.assert_close(
        loss(pred, target, reduction_override='none'),
        torch.tensor([[0, 0, 0, 2 * asl1]], dtype=torch.float64))
    # the paper's density uses all M = 10 bins: beta = N / (R M), 10 / 2 times less
    paper = (4 / (1 * 10)) * asl1 / 4
    assert loss(pred, target).item() == pytest.approx(paper * 10 / 2, rel=1e-7)


def _ghmr_pairs(seed, n=64):
    generator = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, 4, generator=generator) * torch.tensor([0.01, 0.1, 1, 3])
    target = torch.zeros(n, 4)
    weight = (torch.rand(n, 1, generator=generator) > 0.3).float().expand(n, 4)
    return pred, target, weight.contiguous()


@pytest.mark.parametrize('momentum', [0.0, 0.7])
def test_ghmr_equals_mmdet_over_steps(momentum):
    """Value, gradient and running counts over three batches, 'mean' and 'none',
    with RetinaHead's (N, 4) 0/1 weights and an avg_factor both ignore."""
    ours = build('GHMR', momentum=momentum, loss_weight=10.0).train()
    theirs = mmdet_ghm.GHMR(momentum=momentum, loss_weight=10.0).train()
    for step in range(3):
        pred, target, weight = _ghmr_pairs(step)
        value, grad = _value_and_grad(
            lambda p: ours(p, target, weight, avg_factor=7.0), pred, target)
        ref_value, ref_grad = _value_and_grad(
            lambda p: theirs(p, target, weight, avg_factor=7.0), pred, target)
        torch.testing.assert_close(value, ref_value, **PARITY_TOL)
        torch.testing.assert_close(grad, ref_grad, **PARITY_TOL)
        if momentum:
            torch.testing.assert_close(ours.acc_sum, theirs.acc_sum, **PARITY_TOL)
    ours.eval()
    pred, target, weight = _ghmr_pairs(5)
    before = ours.acc_sum.clone()
    none = ours(pred, target, weight, reduction_override='none')
    torch.testing.assert_close(none, theirs(pred, target, weight,
                                            reduction_override='none'), **PARITY_TOL)
    # eval: the counts used are updated, not kept
    assert torch.equal(ours.acc_sum, before)


def test_ghmr_float16_large_errors_are_finite_where_mmdet_is_not():
    """Errors of 300 in float16: d^2 overflows in MMDetection's ASL1 (inf) and its
    ignored rows turn 0 * inf into NaN; ours computes hypot(d, mu) in float32."""
    pred, target, weight = _ghmr_pairs(9, n=16)
    pred = pred.half()
    target = target.half()
    pred[0] = 300
    weight[0] = 0
    theirs = mmdet_ghm.GHMR()(pred, target, weight)
    assert not torch.isfinite(theirs)
    leaf = pred.clone().requires_grad_(True)
    ours = build('GHMR')(leaf, target, weight)
    ours.backward()
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    assert leaf.grad.dtype == torch.float16
    assert torch.isfinite(leaf.grad).all() and leaf.grad[0].abs().sum() == 0
    torch.testing.assert_close(
        ours, build('GHMR')(pred.float(), target.float(), weight), rtol=1e-6,
        atol=0)


def test_ghmr_weight_shapes_and_edge_cases():
    """(N,) weights (FCOS's centre-ness) count for all 4 coordinates; a weight marks
    an element valid and enters N, as in MMDetection (not a factor); no positive
    weight gives 0 with a gradient; an empty batch 0; float64 stays float64."""
    pred, target, _ = _ghmr_pairs(11, n=8)
    loss = build('GHMR')
    point = torch.tensor([1.0, 0, 1, 1, 0, 1, 1, 1])
    torch.testing.assert_close(loss(pred, target, point),
                               loss(pred, target, point[:, None].expand(8, 4)))
    # soft weights: validity and N only, and N cancels in the mean (beta_i carries
    # N, the mean divides by it): the mean is that of the 0/1 weights; 'none' scales
    # with N; both as MMDetection's
    soft = (point * 0.5)[:, None].expand(8, 4)
    torch.testing.assert_close(loss(pred, target, soft), loss(pred, target, point))
    theirs = mmdet_ghm.GHMR()
    for reduction in ('mean', 'none'):
        torch.testing.assert_close(
            loss(pred, target, soft, reduction_override=reduction),
            theirs(pred, target, soft, reduction_override=reduction), **PARITY_TOL)
    leaf = pred.clone().requires_grad_(True)
    zero = loss(leaf, target, torch.zeros(8))
    zero.backward()
    assert zero.item() == 0 and torch.equal(leaf.grad, torch.zeros_like(leaf))
    empty = torch.zeros(0, 4, requires_grad=True)
    value = loss(empty, torch.zeros(0, 4))
    value.backward()
    assert value.item() == 0 and empty.grad.shape == (0, 4)
    assert loss(pred.double(), target.double()).dtype == torch.float64
    with pytest.raises(ValueError, match='avg_factor'):
        loss(pred, target, avg_factor=2.0, reduction_override='sum')


def test_ghmr_counts_are_saved_and_loaded():
    trained = build('GHMR', momentum=0.5).train()
    pred, target, weight = _ghmr_pairs(12)
    trained(pred, target, weight)
    state = trained.state_dict()
    assert set(state) == {'acc_sum'} and state['acc_sum'].sum() > 0
    fresh = build('GHMR', momentum=0.5).eval()
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh(pred, target, weight),
                               trained.eval()(pred, target, weight))


def test_asl1_matches_its_closed_form():
    d = torch.tensor([0.0, 0.01, 1.0, 1e20], dtype=torch.float64)
    torch.testing.assert_close(
        F.asl1_loss(d, torch.zeros_like(d)),
        torch.tensor([0.0, math.sqrt(0.0005) - 0.02, math.sqrt(1.0004) - 0.02,
                      1e20], dtype=torch.float64))


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32, torch.float16,
                                   torch.bfloat16], ids=str)
@pytest.mark.parametrize('momentum', [0.0, 0.7])
def test_ghmr_degenerate_pairs_are_finite(dtype, momentum):
    """The degenerate box pairs as coordinates (zero, inverted, coincident, 1e4 px
    apart) in every dtype: finite mean and gradients; the mean in float32 (float64
    for float64 input), the gradients in the input's dtype."""
    from location_specs import degenerate_batch
    _, pred, target = degenerate_batch(dtype)
    pred.requires_grad_(True)
    loss = build('GHMR', momentum=momentum).train()
    value = loss(pred, target, torch.ones(len(pred), 4))
    value.backward()
    assert value.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    assert torch.isfinite(value)
    assert pred.grad.dtype == dtype and torch.isfinite(pred.grad).all()
    # the same numbers in float64, within the dtype's rounding
    reference = build('GHMR', momentum=momentum).train()(
        pred.detach().double(), target.double(), torch.ones(len(pred), 4))
    assert value.double().item() == pytest.approx(reference.item(), rel=1e-2)


def test_ghmr_gradcheck():
    """float64; the harmonising weights are constants, so the gradient is that of
    sum_i beta_i ASL1_i with beta fixed (no bin boundary within gradcheck's step)."""
    pred, target = random_pairs(6, seed=61)
    pred.requires_grad_(True)
    target.requires_grad_(True)
    loss = build('GHMR')
    assert torch.autograd.gradcheck(lambda p, t: loss(p, t), (pred, target))
