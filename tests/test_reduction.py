"""The reduction core (mmdet_losses.functional.reduction): element-wise weights,
``avg_factor`` and the three reductions, with values worked out by hand and parity
with MMDetection's ``weight_reduce_loss``."""
import pytest
import torch
from mmdet.models.losses.utils import weight_reduce_loss as mmdet_weight_reduce_loss

from mmdet_losses.functional.reduction import (AVG_EPS, align_weight, reduce_loss,
                                               reduce_sum, weight_reduce_loss)

# loss = [1, 2, 3, 4], weight = [1, 0, 2, 1]: weighted = [1, 0, 6, 4], sum = 11.
LOSS = [1.0, 2.0, 3.0, 4.0]
WEIGHT = [1.0, 0.0, 2.0, 1.0]


def test_eps_is_float32_machine_epsilon():
    assert AVG_EPS == torch.finfo(torch.float32).eps == 2.0 ** -23


@pytest.mark.parametrize('reduction, avg_factor, expected', [
    ('none', None, [1.0, 0.0, 6.0, 4.0]),
    ('sum', None, 11.0),
    ('mean', None, 11.0 / 4),                       # over all 4 elements
    ('mean', 2.0, 11.0 / (2.0 + 2.0 ** -23)),        # sum / (avg_factor + eps)
    ('mean', torch.tensor(4.0, dtype=torch.float64), 11.0 / (4.0 + 2.0 ** -23)),
])
def test_weight_reduce_loss_values(reduction, avg_factor, expected):
    loss = torch.tensor(LOSS, dtype=torch.float64)
    out = weight_reduce_loss(loss, torch.tensor(WEIGHT, dtype=torch.float64),
                             reduction, avg_factor)
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64),
                               rtol=1e-15, atol=0)


def test_mean_with_zero_avg_factor_is_zero_not_nan():
    # 0 / (0 + eps) = 0: a batch without positives normalises by avg_factor = 0.
    loss = torch.zeros(3, requires_grad=True)
    out = weight_reduce_loss(loss, None, 'mean', avg_factor=0)
    assert out.item() == 0.0
    out.backward()
    torch.testing.assert_close(loss.grad, torch.full((3, ), 1 / AVG_EPS))


def test_weight_reduce_loss_without_weight():
    loss = torch.tensor(LOSS)
    assert weight_reduce_loss(loss, None, 'sum').item() == 10.0
    assert weight_reduce_loss(loss, None, 'mean').item() == 2.5
    assert torch.equal(weight_reduce_loss(loss, None, 'none'), loss)


def test_sum_with_avg_factor_raises():
    with pytest.raises(ValueError, match=r'avg_factor.*sum.*avg_factor=2\.0'):
        weight_reduce_loss(torch.ones(3), None, 'sum', avg_factor=2.0)
    with pytest.raises(ValueError, match='avg_factor'):
        reduce_sum(torch.tensor(3.0), 3, 'sum', avg_factor=1)


@pytest.mark.parametrize('fn', [
    lambda r: weight_reduce_loss(torch.ones(2), None, r),
    lambda r: reduce_loss(torch.ones(2), r),
    lambda r: reduce_sum(torch.tensor(2.0), 2, r),
])
def test_unknown_reduction_raises(fn):
    with pytest.raises(ValueError, match=r"reduction must be one of .*'none'.*"
                       r"got 'avg'"):
        fn('avg')


def test_reduce_sum_rejects_none():
    with pytest.raises(ValueError, match="got 'none'"):
        reduce_sum(torch.tensor(1.0), 1, 'none')


@pytest.mark.parametrize('reduction, expected', [('none', [1.0, 2.0, 3.0, 4.0]),
                                                 ('mean', 2.5), ('sum', 10.0)])
def test_reduce_loss_values(reduction, expected):
    out = reduce_loss(torch.tensor(LOSS), reduction)
    torch.testing.assert_close(out, torch.tensor(expected), rtol=0, atol=0)


@pytest.mark.parametrize('fn', [
    lambda x: weight_reduce_loss(x, None, 'mean'),
    lambda x: weight_reduce_loss(x, torch.ones(0, 4), 'mean'),
    lambda x: weight_reduce_loss(x, None, 'mean', avg_factor=0.0),
    lambda x: weight_reduce_loss(x, None, 'sum'),
    lambda x: reduce_loss(x, 'mean'),
])
def test_empty_mean_is_zero_in_graph(fn):
    # Tensor.mean of an empty tensor is NaN; the reduction returns 0 instead, and it
    # must stay in the graph so backward() reaches every parameter.
    pred = torch.zeros(0, 4, requires_grad=True)
    out = fn(pred * 2)
    assert out.shape == ()
    assert out.item() == 0.0
    assert out.grad_fn is not None
    out.backward()
    assert pred.grad is not None and pred.grad.shape == (0, 4)


# ----------------------------------------------------------------- weight shapes

def test_prefix_weight_applies_to_every_coordinate():
    # (N,) weight for an (N, 4) loss: box 0 counts (1+2+3+4 = 10), box 1 does not.
    loss = torch.arange(1.0, 9.0).reshape(2, 4)
    weight = torch.tensor([1.0, 0.0])
    assert weight_reduce_loss(loss, weight, 'sum').item() == 10.0
    # The mean still divides by all 8 elements, as MMDetection does.
    assert weight_reduce_loss(loss, weight, 'mean').item() == 10.0 / 8
    torch.testing.assert_close(
        weight_reduce_loss(loss, weight, 'none'),
        torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]]))


def test_extra_last_dimension_is_averaged():
    # (N, 4) box weights for an (N,) per-box loss (IoU losses): mean over the 4.
    # box 0: weights mean 0.5 -> 0.5 * 2; box 1: mean 1 -> 1 * 3. Sum 4.
    loss = torch.tensor([2.0, 3.0])
    weight = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    torch.testing.assert_close(align_weight(weight, loss), torch.tensor([0.5, 1.0]))
    assert weight_reduce_loss(loss, weight, 'sum').item() == 4.0
    torch.testing.assert_close(weight_reduce_loss(loss, weight, 'none'),
                               torch.tensor([1.0, 3.0]))


def test_broadcastable_weight():
    # (C,) per-class weight for an (N, C) loss: broadcast along N.
    loss = torch.ones(3, 2)
    weight = torch.tensor([2.0, 0.5])
    assert weight_reduce_loss(loss, weight, 'sum').item() == 3 * 2.5
    assert align_weight(torch.ones(3, 1), loss).shape == (3, 1)


@pytest.mark.parametrize('weight_shape', [(3, ), (2, 5), (2, 3, 2), (4, 2)])
def test_mismatched_weight_raises_with_both_shapes(weight_shape):
    loss = torch.ones(2, 4)
    with pytest.raises(ValueError) as info:
        weight_reduce_loss(loss, torch.ones(weight_shape), 'mean')
    assert str(tuple(weight_shape)) in str(info.value)
    assert '(2, 4)' in str(info.value)


def test_weight_gradient():
    # d/dl sum(w * l) = w; with avg_factor: w / (avg_factor + eps).
    loss = torch.tensor(LOSS, requires_grad=True)
    weight = torch.tensor(WEIGHT)
    weight_reduce_loss(loss, weight, 'mean', avg_factor=2.0).backward()
    torch.testing.assert_close(loss.grad, weight / (2.0 + AVG_EPS))


# --------------------------------------------------------------- mmdet parity

@pytest.mark.parametrize('reduction, avg_factor', [('none', None), ('mean', None),
                                                   ('sum', None), ('mean', 7.0),
                                                   ('mean', 0.0)])
@pytest.mark.parametrize('weight_shape', [None, (6, 3), (6, 1)])
def test_parity_with_mmdet_weight_reduce_loss(reduction, avg_factor, weight_shape):
    gen = torch.Generator().manual_seed(0)
    loss = torch.rand(6, 3, generator=gen, dtype=torch.float64)
    weight = None if weight_shape is None else \
        torch.rand(weight_shape, generator=gen, dtype=torch.float64)
    ours = weight_reduce_loss(loss, weight, reduction, avg_factor)
    theirs = mmdet_weight_reduce_loss(loss, weight, reduction, avg_factor)
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=0)
