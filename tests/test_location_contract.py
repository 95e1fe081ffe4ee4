"""The MMDetection loss contract of the location-loss modules, their argument errors,
WIoU v3's running mean and the registry."""
import math

import pytest
from mmengine.registry import DefaultScope
import torch
from mmdet.registry import MODELS as MMDET_MODELS

import mmdet_losses
import mmdet_losses.functional as F
from mmdet_losses import MODELS
from location_specs import (IOU_FAMILY, LOSSES, build_module, call_functional,
                            random_pairs)
from mmdet_losses.losses import SPECS
from spec_helpers import loss_names, required_options

AVG_EPS = torch.finfo(torch.float32).eps
N = 12


@pytest.fixture
def boxes():
    pred, target = random_pairs(N, seed=30, dtype=torch.float32)
    return pred.requires_grad_(True), target


def _elementwise(key, pred, target):
    return call_functional(key, pred.detach(), target)


# ---------------------------------------------------------------------- the contract
@pytest.mark.parametrize('key', list(LOSSES))
def test_reductions(key, boxes):
    pred, target = boxes
    elementwise = _elementwise(key, pred, target)
    module = build_module(key)
    assert elementwise.shape == ((N, ) if LOSSES[key].per_box else (N, 4))
    torch.testing.assert_close(module(pred, target), elementwise.mean())
    torch.testing.assert_close(module(pred, target, reduction_override='sum'),
                               elementwise.sum())
    torch.testing.assert_close(module(pred, target, reduction_override='none'),
                               elementwise)
    summing = build_module(key, reduction='sum')
    torch.testing.assert_close(summing(pred, target), elementwise.sum())
    torch.testing.assert_close(summing(pred, target, reduction_override='mean'),
                               elementwise.mean())


@pytest.mark.parametrize('key', list(LOSSES))
def test_weights_and_avg_factor(key, boxes):
    """(N,) weights (FCOS's centerness) apply per box, to all four coordinates of
    the Lp losses; (N, 4) weights (RetinaHead) are averaged per box for the IoU
    family; mean with avg_factor is sum / (avg_factor + float32 eps)."""
    pred, target = boxes
    generator = torch.Generator().manual_seed(1)
    point_weight = torch.rand(N, generator=generator)
    box_weight = torch.rand(N, 4, generator=generator)
    elementwise = _elementwise(key, pred, target)
    module = build_module(key)
    if LOSSES[key].per_box:
        by_point, by_box = elementwise * point_weight, elementwise * box_weight.mean(-1)
    else:
        by_point, by_box = elementwise * point_weight[:, None], elementwise * box_weight
    torch.testing.assert_close(module(pred, target, weight=point_weight),
                               by_point.mean())
    torch.testing.assert_close(module(pred, target, weight=box_weight), by_box.mean())
    torch.testing.assert_close(
        module(pred, target, weight=point_weight, avg_factor=3.0),
        by_point.sum() / (3.0 + AVG_EPS))
    torch.testing.assert_close(
        module(pred, target, weight=box_weight, avg_factor=torch.tensor(5.0)),
        by_box.sum() / (5.0 + AVG_EPS))
    torch.testing.assert_close(
        module(pred, target, weight=point_weight, reduction_override='none'),
        by_point)
    # avg_factor of 0 (no positive sample) gives 0, not NaN
    assert module(pred, target, weight=point_weight, avg_factor=0).isfinite()


@pytest.mark.parametrize('key', list(LOSSES))
def test_loss_weight(key, boxes):
    pred, target = boxes
    plain = build_module(key)(pred, target, avg_factor=4.0)
    torch.testing.assert_close(build_module(key, loss_weight=2.5)(pred, target,
                                                                  avg_factor=4.0),
                               2.5 * plain)


@pytest.mark.parametrize('key', list(LOSSES))
def test_sum_with_avg_factor_raises(key, boxes):
    pred, target = boxes
    with pytest.raises(ValueError, match='avg_factor'):
        build_module(key)(pred, target, avg_factor=2.0, reduction_override='sum')
    with pytest.raises(ValueError, match='reduction_override'):
        build_module(key)(pred, target, reduction_override='average')


@pytest.mark.parametrize('weight_shape', [(N, ), (N, 4)])
@pytest.mark.parametrize('key', list(LOSSES))
def test_zero_weight_shortcut(key, weight_shape, boxes):
    """No positive weight: (pred * weight).sum(), a zero that reaches pred (DDP needs
    every parameter in the graph), whatever the loss weight and avg_factor."""
    pred, target = boxes
    module = build_module(key, loss_weight=3.0)
    loss = module(pred, target, weight=torch.zeros(weight_shape), avg_factor=0.0)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    # 'none' keeps the element-wise shape
    none = module(pred, target, weight=torch.zeros(weight_shape),
                  reduction_override='none')
    assert none.shape == ((N, ) if LOSSES[key].per_box else (N, 4))
    assert torch.all(none == 0)


@pytest.mark.parametrize('key', list(LOSSES))
def test_gradient_reaches_pred(key, boxes):
    pred, target = boxes
    build_module(key)(pred, target).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert pred.grad.abs().sum() > 0


# ------------------------------------------------------------------------ the errors
BAD_ARGUMENTS = [
    ('IoULoss', dict(mode='lg'), 'mode'),
    ('IoULoss', dict(mode='log', alpha=2.0), 'alpha'),
    ('GIoULoss', dict(eps=0.0), 'eps'),
    ('GIoULoss', dict(eps=-1e-6), 'eps'),
    ('GIoULoss', dict(eps=True), 'eps'),
    ('DIoULoss', dict(alpha=0.0), 'alpha'),
    ('DIoULoss', dict(alpha=float('nan')), 'alpha'),
    ('DIoULoss', dict(reduction='avg'), 'reduction'),
    ('DIoULoss', dict(loss_weight='1'), 'loss_weight'),
    ('CIoULoss', dict(aspect_iou_threshold=1.5), 'aspect_iou_threshold'),
    ('CIoULoss', dict(aspect_iou_threshold=-0.1), 'aspect_iou_threshold'),
    ('EIoULoss', dict(focal_gamma=-0.5), 'focal_gamma'),
    ('EIoULoss', dict(focal_gamma=0.0), 'focal_gamma'),
    ('SIoULoss', dict(theta=0.5), 'theta'),
    ('SIoULoss', dict(theta=11.0), 'theta'),
    ('WIoULoss', dict(version='v4'), 'version'),
    ('WIoULoss', dict(version='v2', gamma=0.0), 'gamma'),
    ('WIoULoss', dict(version='v2', gamma=-0.5), 'gamma'),
    ('WIoULoss', dict(focus_alpha=0.0), 'focus_alpha'),
    ('WIoULoss', dict(focus_delta=-3.0), 'focus_delta'),
    ('WIoULoss', dict(momentum=0.0), 'momentum'),
    ('WIoULoss', dict(momentum=1.5), 'momentum'),
    ('NWDLoss', dict(constant=0.0), 'constant'),
    ('NWDLoss', dict(eps=0.0), 'eps'),
    ('SmoothL1Loss', dict(beta=-1.0), 'beta'),
    ('SmoothL1Loss', dict(beta=float('inf')), 'beta'),
    ('L1Loss', dict(reduction='mean_sum'), 'reduction'),
    ('L2Loss', dict(loss_weight=float('inf')), 'loss_weight'),
    ('MPDIoULoss', dict(image_size=(0, 800)), 'image_size'),
    ('MPDIoULoss', dict(image_size=(1333, -800)), 'image_size'),
    ('MPDIoULoss', dict(image_size=640), 'image_size'),
    ('MPDIoULoss', dict(image_size=(640, 640, 3)), 'image_size'),
    ('MPDIoULoss', dict(image_size=(1333, 800), inner_ratio=0.0), 'inner_ratio'),
    ('ShapeIoULoss', dict(scale=-1.0), 'scale'),
    ('ShapeIoULoss', dict(theta=0.5), 'theta'),
    ('ShapeIoULoss', dict(focaler_range=(0.5, 0.5)), 'focaler_range'),
    ('PIoULoss', dict(version='v3'), 'version'),
    ('PIoULoss', dict(version='v2', focus_lambda=0.0), 'focus_lambda'),
    ('PIoULoss', dict(inner_ratio=-0.7), 'inner_ratio'),
    ('GIoULoss', dict(inner_ratio=0.0), 'inner_ratio'),
    ('GIoULoss', dict(inner_ratio=float('nan')), 'inner_ratio'),
    ('DIoULoss', dict(focaler_range=(0.8, 0.2)), 'focaler_range'),
    ('CIoULoss', dict(focaler_range=(0.0, 1.5)), 'focaler_range'),
    ('EIoULoss', dict(focaler_range=(-0.1, 0.5)), 'focaler_range'),
    ('SIoULoss', dict(focaler_range=0.5), 'focaler_range'),
    ('SIoULoss', dict(focaler_range=(0.1, 0.5, 0.9)), 'focaler_range'),
    ('IoULoss', dict(mode='log', inner_ratio=0.8), 'inner_ratio'),
    ('IoULoss', dict(mode='square', focaler_range=(0.0, 0.5)), 'focaler_range'),
    ('BalancedL1Loss', dict(alpha=0.0), 'alpha'),
    ('BalancedL1Loss', dict(gamma=-1.5), 'gamma'),
    ('BalancedL1Loss', dict(beta=0.0), 'beta'),
    ('GHMR', dict(mu=0.0), 'mu'),
    ('GHMR', dict(bins=0), 'bins'),
    ('GHMR', dict(bins=2.5), 'bins'),
    ('GHMR', dict(momentum=1.0), 'momentum'),
    ('GHMR', dict(momentum=-0.1), 'momentum'),
]


@pytest.mark.parametrize('loss_type,kwargs,name', BAD_ARGUMENTS,
                         ids=[f'{t}-{kw}' for t, kw, _ in BAD_ARGUMENTS])
def test_bad_hyper_parameter(loss_type, kwargs, name):
    """Checked at build time; the message names the argument and the value."""
    with pytest.raises(ValueError) as error:
        MODELS.build(dict(type=f'mmdet_losses.{loss_type}', **kwargs))
    message = str(error.value)
    assert name in message
    assert repr(kwargs[name]) in message or str(kwargs[name]) in message


@pytest.mark.parametrize('key', list(LOSSES))
def test_shape_mismatch_names_both_shapes(key):
    module = build_module(key)
    with pytest.raises(ValueError) as error:
        module(torch.zeros(3, 4), torch.zeros(2, 4))
    assert '(3, 4)' in str(error.value) and '(2, 4)' in str(error.value)
    with pytest.raises(ValueError) as error:
        module(torch.zeros(3, 4), torch.zeros(3, 4), weight=torch.ones(5))
    assert '(5,)' in str(error.value)


@pytest.mark.parametrize('key', IOU_FAMILY)
def test_boxes_need_four_coordinates(key):
    with pytest.raises(ValueError, match=r'\(3, 5\)'):
        build_module(key)(torch.zeros(3, 5), torch.zeros(3, 5))


def test_iou_loss_takes_mmdets_deprecated_linear():
    """linear=True is MMDetection's old spelling of mode='linear' (its Cascade RPN
    configs use it): the linear IoU loss, with a DeprecationWarning, whatever mode
    says, as MMDetection's IoULoss; linear=False leaves the mode alone."""
    pred, target = random_pairs(N, seed=34, dtype=torch.float32)
    with pytest.warns(DeprecationWarning, match="mode='linear'"):
        ours = MODELS.build(dict(type='mmdet_losses.IoULoss', linear=True,
                                 loss_weight=10.0))
    assert ours.mode == 'linear'
    theirs = MMDET_MODELS.build(dict(type='IoULoss', linear=True, loss_weight=10.0))
    torch.testing.assert_close(ours(pred, target), theirs(pred, target))
    torch.testing.assert_close(ours(pred, target),
                               10.0 * F.iou_loss(pred, target, mode='linear').mean())
    assert build_module('iou_log', linear=False).mode == 'log'


def test_functional_iou_loss_rejects_unknown_mode():
    """The public functional validates its mode like the module does: a typo must not
    silently give another loss (today 'lg' returns the linear loss)."""
    pred, target = random_pairs(4, seed=31)
    with pytest.raises(ValueError, match='mode'):
        F.iou_loss(pred, target, mode='lg')


# ------------------------------------------------------------- WIoU v3's running mean
# quarter_inside (L_IoU = 3/4) and side_by_side (L_IoU = 1)
WIOU_PRED = torch.tensor([[0.0, 0, 5, 5], [10, 0, 20, 10]])
WIOU_TARGET = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])


def test_wiou_running_mean_updates_in_train_mode_only():
    loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v3', momentum=0.5))
    assert loss.iou_loss_mean.item() == 1.0       # starts at 1
    loss.train()
    loss(WIOU_PRED, WIOU_TARGET)
    # 0.5 * 1 + 0.5 * mean(3/4, 1) = 0.9375
    assert loss.iou_loss_mean.item() == pytest.approx(0.9375, rel=1e-6)
    loss.eval()
    loss(WIOU_PRED, WIOU_TARGET)
    assert loss.iou_loss_mean.item() == pytest.approx(0.9375, rel=1e-6)
    loss.train()
    # weighted: (1 * 3/4 + 3 * 1) / 4 = 0.9375 -> 0.5 * 0.9375 + 0.5 * 0.9375
    loss(WIOU_PRED, WIOU_TARGET, weight=torch.tensor([1.0, 3.0]))
    assert loss.iou_loss_mean.item() == pytest.approx(0.9375, rel=1e-6)
    # (N, 4) weights count per box as their mean: (1 * 3/4 + 0 * 1) / 1
    loss(WIOU_PRED, WIOU_TARGET, weight=torch.tensor([[1.0] * 4, [0.0] * 4]))
    assert loss.iou_loss_mean.item() == pytest.approx(0.5 * 0.9375 + 0.5 * 0.75,
                                                      rel=1e-6)
    # an empty batch leaves it alone
    before = loss.iou_loss_mean.item()
    loss(torch.zeros(0, 4), torch.zeros(0, 4))
    assert loss.iou_loss_mean.item() == before


def test_wiou_all_zero_weights_leave_running_mean_alone():
    """Boxes of weight 0 are not positives: a batch without any positive weight
    carries no information on the mean IoU loss, whatever the reduction. ('mean'
    takes the zero-weight shortcut; 'none' pulls the mean toward 0 today.)"""
    loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v3',
                             momentum=0.5)).train()
    loss(WIOU_PRED, WIOU_TARGET, weight=torch.zeros(2))
    assert loss.iou_loss_mean.item() == 1.0
    loss(WIOU_PRED, WIOU_TARGET, weight=torch.zeros(2), reduction_override='none')
    assert loss.iou_loss_mean.item() == 1.0


def test_wiou_v1_keeps_no_running_mean():
    loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v1',
                             momentum=0.5)).train()
    loss(WIOU_PRED, WIOU_TARGET)
    assert loss.iou_loss_mean.item() == 1.0


def test_wiou_uses_the_updated_mean():
    """The batch updates the mean first (official Wise-IoU order): with momentum 1
    the mean is the batch's, 7/8, so the quarter box has beta = (3/4) / (7/8) = 6/7
    and r = beta / (3 * 1.9^(beta - 3))."""
    loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v3', momentum=1.0,
                             reduction='none')).train()
    value = loss(WIOU_PRED, WIOU_TARGET)
    beta = 6 / 7
    expected = math.exp(1 / 16) * 0.75 * beta / (3 * 1.9**(beta - 3))
    assert value[0].item() == pytest.approx(expected, rel=1e-5)


def test_wiou_v2_shares_the_running_mean_and_its_update():
    """v2 keeps the same buffer as v3, updated first: momentum 1 gives the batch's
    mean 7/8, so the quarter box has beta = (3/4) / (7/8) = 6/7 and v2 multiplies v1
    by beta^(1/2); the side-by-side box (L_IoU = 1) by (8/7)^(1/2)."""
    loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v2', momentum=1.0,
                             reduction='none')).train()
    value = loss(WIOU_PRED, WIOU_TARGET)
    assert loss.iou_loss_mean.item() == pytest.approx(7 / 8, rel=1e-6)
    assert value[0].item() == pytest.approx(math.exp(1 / 16) * 0.75 * math.sqrt(6 / 7),
                                            rel=1e-5)
    assert value[1].item() == pytest.approx(math.exp(0.2) * math.sqrt(8 / 7), rel=1e-5)
    # gamma 1: beta itself
    linear = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v2', gamma=1.0,
                               momentum=1.0, reduction='none')).train()
    assert linear(WIOU_PRED, WIOU_TARGET)[0].item() == pytest.approx(
        math.exp(1 / 16) * 0.75 * 6 / 7, rel=1e-5)
    # eval mode: the mean stays
    loss.eval()
    loss(WIOU_PRED[:1], WIOU_TARGET[:1])
    assert loss.iou_loss_mean.item() == pytest.approx(7 / 8, rel=1e-6)
    assert set(loss.state_dict()) == {'iou_loss_mean'}


def test_wiou_loss_sees_a_snapshot_of_the_running_mean():
    """A head calls the loss once per FPN level before backward; the buffer is
    updated in place at each call, so the loss must not keep the buffer itself for
    its backward (a compiled graph does keep its inputs): it gets a copy."""
    loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v2'))
    passed = loss.loss_kwargs()['iou_loss_mean']
    assert passed is not loss.iou_loss_mean and passed.item() == 1.0


@pytest.mark.slow
@pytest.mark.parametrize('version', ['v2', 'v3'])
def test_wiou_compiled_two_calls_before_backward(version):
    """Compiled, two calls (two levels) then one backward: no in-place error, and
    the gradient of the eager loss."""
    from mmdet_losses.functional import get_compile, set_compile
    from mmdet_losses.functional.compile import _backend_available
    if not _backend_available('cpu'):
        pytest.skip('no C++ compiler for torch.compile')
    pred, target = random_pairs(16, seed=33, dtype=torch.float32)
    grads = []
    previous = get_compile()
    try:
        for mode in (True, False):
            set_compile(mode)
            loss = MODELS.build(dict(type='mmdet_losses.WIoULoss', version=version,
                                     momentum=0.5)).train()
            leaf = pred.clone().requires_grad_(True)
            (loss(leaf, target) + loss(leaf * 1.01, target)).backward()
            grads.append(leaf.grad)
    finally:
        set_compile({'on': True, 'off': False}.get(previous, 'auto'))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_wiou_running_mean_is_saved_and_loaded():
    trained = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v3',
                                momentum=0.5)).train()
    trained(WIOU_PRED, WIOU_TARGET)
    state = trained.state_dict()
    assert set(state) == {'iou_loss_mean'}
    assert state['iou_loss_mean'].item() == pytest.approx(0.9375, rel=1e-6)
    fresh = MODELS.build(dict(type='mmdet_losses.WIoULoss', version='v3')).eval()
    fresh.load_state_dict(state)
    assert fresh.iou_loss_mean.item() == pytest.approx(0.9375, rel=1e-6)
    torch.testing.assert_close(fresh(WIOU_PRED, WIOU_TARGET),
                               trained.eval()(WIOU_PRED, WIOU_TARGET))
    # and the mean changes the loss (a test that could not fail otherwise)
    assert not torch.allclose(MODELS.build(dict(type='mmdet_losses.WIoULoss')).eval()(
        WIOU_PRED, WIOU_TARGET), fresh(WIOU_PRED, WIOU_TARGET))


# ------------------------------------------------------------------------ the registry
REGISTERED = loss_names('box', 'coordinate')


@pytest.mark.parametrize('name', REGISTERED)
def test_scoped_build_from_mmdet_registry(name):
    ours = MMDET_MODELS.build(dict(type=f'mmdet_losses.{name}',
                                   **required_options(name)))
    assert type(ours) is getattr(mmdet_losses, name)
    # a bare name is ours inside our scope (MMEngine resolves it in the default scope)
    with DefaultScope.overwrite_default_scope('mmdet_losses'):
        assert MODELS.build(dict(type=name, **required_options(name))).__class__ \
            is type(ours)


# MMDetection's namesakes of the same loss or of a variant of it (L2Loss: another
# loss, MMDetection's embedding loss, which builds with other arguments)
@pytest.mark.parametrize('name', [n for n in REGISTERED
                                  if SPECS[n].namesake in ('same', 'variant')])
def test_mmdet_names_untouched(name):
    theirs = MMDET_MODELS.build(dict(type=name))
    assert type(theirs).__module__.startswith('mmdet.models.losses')
    assert not isinstance(theirs, mmdet_losses.BaseLoss)


def test_mpdiou_needs_its_image_size():
    """No default normaliser: copies of MPDIoU use a feature-map size or 640, the
    paper the input image's size, so a config must say which."""
    with pytest.raises(TypeError, match='image_size'):
        MODELS.build(dict(type='mmdet_losses.MPDIoULoss'))
    loss = MODELS.build(dict(type='mmdet_losses.MPDIoULoss', image_size=[1333, 800]))
    assert loss.image_size == (1333.0, 800.0)
    assert type(loss).__module__.startswith('mmdet_losses')
    with pytest.raises(TypeError, match='image_size'):
        F.mpdiou_loss(torch.zeros(1, 4), torch.zeros(1, 4))


def test_functional_modifiers_rejected_by_name():
    pred, target = random_pairs(4, seed=32)
    with pytest.raises(ValueError, match='inner_ratio'):
        F.giou_loss(pred, target, inner_ratio=0)
    with pytest.raises(ValueError, match='focaler_range'):
        F.siou_loss(pred, target, focaler_range=(0.9, 0.1))
    with pytest.raises(ValueError, match="mode='linear'"):
        F.iou_loss(pred, target, mode='log', focaler_range=(0.0, 0.5))
    with pytest.raises(ValueError, match='version'):
        F.piou_loss(pred, target, version='v3')
    with pytest.raises(ValueError, match='image_size'):
        F.mpdiou_loss(pred, target, image_size=(640, 0))
    # WIoU and NWD are not of the 1 - IoU + penalty form: no modifiers
    for name in ('WIoULoss', 'NWDLoss'):
        with pytest.raises(TypeError, match='inner_ratio'):
            MODELS.build(dict(type=f'mmdet_losses.{name}', inner_ratio=0.8))


def test_build_passes_hyper_parameters():
    loss = MMDET_MODELS.build(dict(type='mmdet_losses.CIoULoss',
                                   aspect_iou_threshold=0.5, loss_weight=2.0))
    assert loss.aspect_iou_threshold == 0.5 and loss.loss_weight == 2.0


def test_misspelt_type_is_a_key_error():
    with pytest.raises(KeyError, match='GIoULos'):
        MMDET_MODELS.build(dict(type='mmdet_losses.GIoULos'))
    with pytest.raises(KeyError, match='NWDLoss'):
        MMDET_MODELS.build(dict(type='NWDLoss'))   # ours only, under its scope
