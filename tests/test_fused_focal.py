"""The fused sigmoid focal / BCE kernel (``sigmoid_focal_loss_sum``, analytic
backward) against the plain-autograd reference ``sigmoid_focal_loss``."""
import pytest
import torch
import torch.nn.functional as F

import mmdet_losses.functional as functional
from mmdet_losses import CrossEntropyLoss, FocalLoss
from mmdet_losses.functional import sigmoid_focal_loss, sigmoid_focal_loss_sum
from mmdet_losses.functional.fused import binary as fused_binary

N, C = 37, 6
TOLERANCE = {torch.float64: dict(rtol=1e-12, atol=1e-14),
             torch.float32: dict(rtol=1e-5, atol=1e-6)}


def make_inputs(dtype, soft, weight_kind, seed=0, scale=3.0, n=N):
    gen = torch.Generator().manual_seed(seed)
    pred = (scale * torch.randn(n, C, generator=gen, dtype=torch.float64)).to(dtype)
    if soft:
        target = torch.rand(n, C, generator=gen, dtype=torch.float64).to(dtype)
    else:
        target = torch.randint(0, C + 1, (n, ), generator=gen)      # C = background
    weight = {
        None: None,
        'n': torch.rand(n, 1, generator=gen, dtype=torch.float64).to(dtype),
        'nc': torch.rand(n, C, generator=gen, dtype=torch.float64).to(dtype),
    }[weight_kind]
    return pred, target, weight


def reference_sum(pred, target, weight, gamma, alpha, smoothing):
    """sum(weight * FL) through the plain autograd function."""
    if not target.is_floating_point():
        target = F.one_hot(target, C + 1)[:, :C].to(pred.dtype)
    target = target * (1 - smoothing) + 0.5 * smoothing
    loss = sigmoid_focal_loss(pred, target, gamma, alpha)
    return (loss if weight is None else loss * weight).sum()


def value_and_grad(fn, pred, *args):
    x = pred.clone().requires_grad_()
    out = fn(x, *args)
    out.backward()
    return out.detach(), x.grad


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('soft', [False, True], ids=['labels', 'soft'])
@pytest.mark.parametrize('weight_kind, smoothing', [(None, 0.0), ('n', 0.0),
                                                    ('nc', 0.0), ('n', 0.1)],
                         ids=['no_w', 'w_n', 'w_nc', 'w_n_smooth'])
@pytest.mark.parametrize('gamma', [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize('alpha', [None, 0.25])
def test_fused_matches_plain_autograd(dtype, soft, weight_kind, smoothing, gamma,
                                      alpha):
    pred, target, weight = make_inputs(dtype, soft, weight_kind)
    fused, fused_grad = value_and_grad(sigmoid_focal_loss_sum, pred, target, weight,
                                       gamma, alpha, smoothing)
    plain, plain_grad = value_and_grad(reference_sum, pred, target, weight, gamma,
                                       alpha, smoothing)
    assert fused.dtype == dtype and fused_grad.dtype == dtype
    torch.testing.assert_close(fused, plain, **TOLERANCE[dtype])
    torch.testing.assert_close(fused_grad, plain_grad, **TOLERANCE[dtype])


@pytest.mark.parametrize('gamma, alpha, soft, smoothing', [
    (2.0, 0.25, False, 0.0), (0.5, None, False, 0.0), (5.0, 0.25, True, 0.0),
    (0.5, 0.75, True, 0.2), (0.0, None, False, 0.1),
])
def test_fused_gradcheck(gamma, alpha, soft, smoothing):
    # The analytic backward against finite differences, float64.
    pred, target, weight = make_inputs(torch.float64, soft, 'nc', seed=1, scale=1.5,
                                       n=5)
    pred.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: sigmoid_focal_loss_sum(x, target, weight, gamma, alpha, smoothing),
        (pred, ))


def test_hand_derived_value_and_gradient():
    # One element, x = 0, t = 1, gamma = 2, alpha = 0.25: p = 1/2, q = 1/2,
    # FL = 0.25 * 0.25 * ln 2. dFL/dx = a_t q^2 (gamma (1 - 2t) p(1-p)/q BCE + p - t)
    # = 0.25 * 0.25 * (2 * -1 * 0.5 * ln 2 - 0.5) = -0.0625 (ln 2 + 0.5).
    ln2 = torch.log(torch.tensor(2.0, dtype=torch.float64))
    x = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    out = sigmoid_focal_loss_sum(x, torch.tensor([0]), None, 2.0, 0.25)
    torch.testing.assert_close(out, 0.0625 * ln2)
    out.backward()
    torch.testing.assert_close(x.grad, (-0.0625 * (ln2 + 0.5)).reshape(1, 1))


def test_grad_output_scales_gradient():
    pred, target, weight = make_inputs(torch.float64, False, 'n')
    _, grad = value_and_grad(sigmoid_focal_loss_sum, pred, target, weight)
    _, grad3 = value_and_grad(lambda *a: 3 * sigmoid_focal_loss_sum(*a), pred,
                              target, weight)
    torch.testing.assert_close(grad3, 3 * grad, rtol=1e-14, atol=0)


@pytest.mark.parametrize('gamma', [0.5, 2.0])
def test_saturated_logits(gamma):
    # +-100 on and off the true class, float32: finite value and gradient, equal to
    # the reference (the two confident mistakes cost 0.75 * 100 each).
    pred = torch.tensor([[100.0, -100.0, 100.0], [-100.0, 100.0, -100.0]])
    target = torch.tensor([0, 3])
    fused, fused_grad = value_and_grad(
        lambda x, t: sigmoid_focal_loss_sum(x, t, None, gamma, 0.25), pred, target)
    assert fused.item() == pytest.approx(150.0, rel=1e-6)
    torch.testing.assert_close(
        fused_grad, torch.tensor([[0.0, 0.0, 0.75], [0.0, 0.75, 0.0]]),
        rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    # Computed in float32: the sum comes back in float32, the gradient in pred's
    # dtype, both equal to the float32 computation on the same (rounded) inputs.
    pred, target, weight = make_inputs(torch.float32, False, 'n')
    pred = pred.to(dtype)
    out, grad = value_and_grad(sigmoid_focal_loss_sum, pred, target, weight)
    ref, ref_grad = value_and_grad(sigmoid_focal_loss_sum, pred.float(), target,
                                   weight)
    assert out.dtype == torch.float32 and grad.dtype == dtype
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=0)
    torch.testing.assert_close(grad, ref_grad.to(dtype), rtol=0, atol=0)


def test_empty_input():
    x = torch.zeros(0, C, requires_grad=True)
    out = sigmoid_focal_loss_sum(x, torch.zeros(0, dtype=torch.long))
    assert out.item() == 0.0
    out.backward()
    assert x.grad.shape == (0, C)


@pytest.mark.parametrize('loss, gamma, alpha', [
    (FocalLoss(gamma=2.0, alpha=0.25, loss_weight=2.0), 2.0, 0.25),
    (CrossEntropyLoss(use_sigmoid=True, loss_weight=2.0), 0.0, None),
])
def test_modules_reduce_the_fused_sum(loss, gamma, alpha):
    # mean = 2 * fused sum / (N * C); with avg_factor: 2 * sum / (avg + eps).
    pred, target, weight = make_inputs(torch.float64, False, 'n')
    total = sigmoid_focal_loss_sum(pred, target, weight, gamma, alpha)
    torch.testing.assert_close(loss(pred, target, weight[:, 0]), 2 * total / (N * C),
                               rtol=1e-14, atol=0)
    eps = torch.finfo(torch.float32).eps
    torch.testing.assert_close(loss(pred, target, weight[:, 0], avg_factor=4.0),
                               2 * total / (4.0 + eps), rtol=1e-14, atol=0)


def _compile_events():
    counters = torch._dynamo.utils.counters
    return counters['frames']['total'], counters['stats']['unique_graphs']


def test_compiled_kernel_equals_eager_without_recompiling():
    previous = functional.get_compile()
    functional.set_compile(True)
    try:
        loss = FocalLoss(gamma=2.0, alpha=0.25)
        for n, seed in ((64, 0), (97, 1)):
            pred, labels, _ = make_inputs(torch.float32, False, None, seed=seed, n=n)
            before = _compile_events()
            compiled, compiled_grad = value_and_grad(loss, pred, labels)
            after = _compile_events()
            functional.set_compile(False)
            eager, eager_grad = value_and_grad(loss, pred, labels)
            functional.set_compile(True)
            torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=0)
            torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-5,
                                       atol=1e-9)
            if n == 64:
                # Both kernels went through torch.compile ...
                assert fused_binary._KERNELS['focal'].weighted_sum._compiled is not None
                assert fused_binary._KERNELS['focal'].weighted_grad._compiled is not None
            else:
                # ... and a new N reuses them (dynamic shapes): no new frame/graph.
                assert after == before
    finally:
        functional.set_compile(previous)
    assert functional.get_compile() == previous
