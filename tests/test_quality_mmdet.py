"""QualityFocalLoss, VarifocalLoss, DistributionFocalLoss and GHMC against MMDetection
3.3's classes of the same names: value and gradient on their common domain, and the
places where ours stay finite and mmdet's do not (pinned)."""
import pytest
import torch
from mmdet.models.losses import GHMC as MMDetGHMC
from mmdet.models.losses import DistributionFocalLoss as MMDetDFL
from mmdet.models.losses import QualityFocalLoss as MMDetQFL
from mmdet.models.losses import VarifocalLoss as MMDetVFL

from mmdet_losses.registry import MODELS

N, C = 40, 5


def ours(name, **kwargs):
    loss = MODELS.build(dict(type=f'mmdet_losses.{name}', **kwargs))
    assert type(loss).__module__.startswith('mmdet_losses.'), type(loss)
    return loss


def quality_inputs(seed=0, dtype=torch.float64, n=N):
    gen = torch.Generator().manual_seed(seed)
    pred = 3 * torch.randn(n, C, generator=gen, dtype=dtype)
    labels = torch.randint(0, C + 1, (n, ), generator=gen)
    scores = torch.rand(n, generator=gen, dtype=dtype)
    scores[labels == C] = 0
    weight = torch.rand(n, generator=gen, dtype=dtype)
    dense = torch.zeros(n, C, dtype=dtype)
    positive = labels < C
    dense[positive, labels[positive]] = scores[positive]
    return pred, labels, scores, weight, dense


def value_and_grad(loss, pred, *args, **kwargs):
    pred = pred.clone().requires_grad_()
    out = loss(pred, *args, **kwargs)
    grad, = torch.autograd.grad(out.sum(), pred)
    return out.detach(), grad


def assert_same(a, b):
    torch.testing.assert_close(a[0], b[0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a[1], b[1], rtol=1e-9, atol=1e-12)


CALLS = {
    'mean': dict(),
    'sum': dict(reduction_override='sum'),
    'none': dict(reduction_override='none'),
    'weight_avg': dict(weight=True, avg_factor=7.5),
}


def call_kwargs(call, weight):
    kwargs = dict(CALLS[call])
    if kwargs.pop('weight', False):
        kwargs['weight'] = weight
    return kwargs


@pytest.mark.parametrize('call', CALLS)
@pytest.mark.parametrize('tuple_target', [True, False])
@pytest.mark.parametrize('beta, activated', [(2.0, False), (1.5, False), (2.0, True)])
def test_qfl_matches_mmdet(call, tuple_target, beta, activated):
    pred, labels, scores, weight, dense = quality_inputs()
    if activated:
        pred = pred.sigmoid()
    target = (labels, scores) if tuple_target else dense
    kwargs = call_kwargs(call, weight)
    theirs = MMDetQFL(beta=beta, activated=activated)
    mine = ours('QualityFocalLoss', beta=beta, activated=activated)
    assert_same(value_and_grad(mine, pred, target, **kwargs),
                value_and_grad(theirs, pred, target, **kwargs))


@pytest.mark.parametrize('call', CALLS)
@pytest.mark.parametrize('iou_weighted', [True, False])
@pytest.mark.parametrize('alpha, gamma', [(0.75, 2.0), (0.5, 1.5)])
def test_vfl_matches_mmdet(call, iou_weighted, alpha, gamma):
    pred, labels, scores, weight, dense = quality_inputs(seed=1)
    kwargs = call_kwargs(call, weight[:, None].expand(N, C).contiguous())
    theirs = MMDetVFL(alpha=alpha, gamma=gamma, iou_weighted=iou_weighted)
    mine = ours('VarifocalLoss', alpha=alpha, gamma=gamma, iou_weighted=iou_weighted)
    expected = value_and_grad(theirs, pred, dense, **kwargs)
    assert_same(value_and_grad(mine, pred, dense, **kwargs), expected)
    # the (labels, scores) form is the same loss
    assert_same(value_and_grad(mine, pred, (labels, scores), **kwargs), expected)


@pytest.mark.parametrize('call', CALLS)
def test_dfl_matches_mmdet(call):
    gen = torch.Generator().manual_seed(2)
    pred = 2 * torch.randn(N, 17, generator=gen, dtype=torch.float64)
    target = 15.999 * torch.rand(N, generator=gen, dtype=torch.float64)
    target[:3] = torch.tensor([0.0, 3.0, 15.5])
    weight = torch.rand(N, generator=gen, dtype=torch.float64)
    kwargs = call_kwargs(call, weight)
    assert_same(value_and_grad(ours('DistributionFocalLoss'), pred, target, **kwargs),
                value_and_grad(MMDetDFL(), pred, target, **kwargs))


def test_dfl_target_at_the_last_bin():
    # y = n = 16: ours is -log S_16 (bins 15 and 16 with weights 0 and 1); mmdet's
    # indexes bin 17 of a 17-bin distribution.
    pred = torch.randn(3, 17, dtype=torch.float64, requires_grad=True)
    target = torch.full((3, ), 16.0, dtype=torch.float64)
    out = ours('DistributionFocalLoss', reduction='none')(pred, target)
    torch.testing.assert_close(out, -pred.log_softmax(-1)[:, 16])
    out.sum().backward()
    assert torch.isfinite(pred.grad).all()
    with pytest.raises((IndexError, RuntimeError)):
        MMDetDFL(reduction='none')(pred.detach(), target)


@pytest.mark.parametrize('bad', [-0.5, 16.5, float('nan')])
def test_dfl_target_out_of_range_raises(bad):
    target = torch.tensor([1.0, bad], dtype=torch.float64)
    with pytest.raises(ValueError, match=r'target must lie in \[0, 16\]'):
        ours('DistributionFocalLoss')(torch.zeros(2, 17, dtype=torch.float64), target)


@pytest.mark.parametrize('call', ['mean', 'none'])
@pytest.mark.parametrize('labels_as_target', [True, False])
@pytest.mark.parametrize('bins, momentum', [(10, 0.0), (30, 0.75)])
def test_ghmc_matches_mmdet(call, labels_as_target, bins, momentum):
    # float32: mmdet's GHMC casts targets and weights to float32. Three calls, so
    # the momentum's running counts are compared too.
    theirs = MMDetGHMC(bins=bins, momentum=momentum)
    mine = ours('GHMC', bins=bins, momentum=momentum).train()
    for seed in range(3):
        pred, labels, _, _, _ = quality_inputs(seed=10 + seed, dtype=torch.float32)
        label_weight = (torch.rand(N, generator=torch.Generator().manual_seed(seed))
                        > 0.2).float()
        target = labels if labels_as_target else \
            torch.nn.functional.one_hot(labels, C + 1)[:, :C].float()
        weight = label_weight if labels_as_target else \
            label_weight[:, None].expand(N, C)
        kwargs = CALLS[call]
        mine_out = value_and_grad(mine, pred, target, weight, **kwargs)
        theirs_out = value_and_grad(theirs, pred, target, weight, **kwargs)
        for a, b in zip(mine_out, theirs_out):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    if momentum:
        torch.testing.assert_close(mine.acc_sum, theirs.acc_sum)


def test_ghmc_sum_is_the_weighted_sum_where_mmdet_raises():
    pred, labels, _, _, _ = quality_inputs(seed=5)
    weight = torch.ones(N, dtype=torch.float64)
    none = ours('GHMC', reduction='none')(pred, labels, weight)
    total = ours('GHMC', reduction='sum')(pred, labels, weight)
    torch.testing.assert_close(total, none.sum())
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        MMDetGHMC(reduction='sum')(pred, labels, weight)


def test_ghmc_does_not_synchronise_per_bin():
    # mmdet's GHMC loops over bins with .item(); ours is one vectorised pass: the
    # same value with 200 bins, and no Python loop over them (timing-free check:
    # the module never calls Tensor.item).
    pred, labels, _, _, _ = quality_inputs(seed=3)
    weight = torch.ones(N, dtype=torch.float64)
    mine = ours('GHMC', bins=200)
    calls = []
    original = torch.Tensor.item
    torch.Tensor.item = lambda self: calls.append(1) or original(self)
    try:
        value = mine(pred, labels, weight)
    finally:
        torch.Tensor.item = original
    assert calls == []
    torch.testing.assert_close(value, MMDetGHMC(bins=200)(pred, labels, weight))


# ------------------------------------------ finite where MMDetection's are not

def test_empty_batch_is_zero_unlike_mmdet():
    pred = torch.zeros(0, C, requires_grad=True)
    target = (torch.zeros(0, dtype=torch.long), torch.zeros(0))
    out = ours('QualityFocalLoss')(pred, target)
    assert out.item() == 0.0
    out.backward()
    assert pred.grad.shape == (0, C)
    assert torch.isnan(MMDetQFL()(pred.detach(), target))
    dense = torch.zeros(0, C)
    assert ours('VarifocalLoss')(pred, dense).item() == 0.0
    assert torch.isnan(MMDetVFL()(pred.detach(), dense))


def test_qfl_small_beta_at_its_minimum_is_finite_unlike_mmdet():
    # beta = 0.5 and sigma(x) = score exactly: d|d|^0.5/dx is infinite at d = 0;
    # ours clamps |d| at the smallest normal float (a zero gradient there).
    pred = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    target = (torch.tensor([0]), torch.tensor([0.5], dtype=torch.float64))
    _, grad = value_and_grad(ours('QualityFocalLoss', beta=0.5), pred, target)
    assert torch.isfinite(grad).all()
    _, grad = value_and_grad(MMDetQFL(beta=0.5), pred, target)
    assert not torch.isfinite(grad).all()


@pytest.mark.parametrize('name', ['QualityFocalLoss', 'VarifocalLoss'])
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_matches_float32(name, dtype):
    pred, labels, scores, weight, _ = quality_inputs(seed=4, dtype=torch.float32)
    target = (labels, scores)
    reference = ours(name)(pred, target, weight, avg_factor=11.0)
    out = ours(name)(pred.to(dtype), target, weight, avg_factor=11.0)
    assert out.float().item() == pytest.approx(reference.item(), rel=1e-2)


@pytest.mark.parametrize('name, kwargs, match', [
    ('QualityFocalLoss', dict(use_sigmoid=False), 'use_sigmoid must be True'),
    ('QualityFocalLoss', dict(beta=-1.0), 'beta must be >= 0'),
    ('VarifocalLoss', dict(use_sigmoid=False), 'use_sigmoid must be True'),
    ('VarifocalLoss', dict(alpha=-0.1), 'alpha must be >= 0'),
    ('VarifocalLoss', dict(gamma=float('inf')), 'gamma must be a finite number'),
    ('GHMC', dict(bins=0), 'bins must be an int >= 1, got 0'),
    ('GHMC', dict(momentum=1.0), r'momentum must be in \[0.0, 1.0\)'),
    ('GHMC', dict(use_sigmoid=False), 'use_sigmoid must be True'),
])
def test_bad_arguments_are_named(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ours(name, **kwargs)


def test_quality_target_errors_say_what_to_pass():
    pred = torch.zeros(4, C)
    with pytest.raises(TypeError, match=r'\(labels, scores\) tuple or an \(N, C\) float'):
        ours('QualityFocalLoss')(pred, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r'labels and scores must have shape \(N,\)'):
        ours('VarifocalLoss')(pred, (torch.zeros(3, dtype=torch.long), torch.zeros(3)))
    with pytest.raises(TypeError, match='are for the quality losses'):
        ours('FocalLoss')(pred, (torch.zeros(4, dtype=torch.long), torch.zeros(4)))
    with pytest.raises(ValueError, match=r'must lie in \[0, 5\]'):
        ours('QualityFocalLoss')(pred, (torch.tensor([0, 1, 6, 2]), torch.zeros(4)))
