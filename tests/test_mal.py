"""MatchabilityAwareLoss against DEIM's own formula (Huang et al., arXiv 2412.04234,
the official criterion's ``loss_labels_mal``), written here the way that code computes
it on a batch of queries: one-hot targets of the matched queries' classes, the IoU
raised to ``gamma`` as the target, weight 1 on the positives and ``alpha p^gamma``
(``p`` detached) elsewhere, BCE with logits, summed and divided by the number of
boxes; and its fused sum (``matchability_aware_loss_sum``, analytic backward) against
the plain autograd form."""
import pytest
import torch
import torch.nn.functional as F

import mmdet_losses.functional as functional
from mmdet_losses import MatchabilityAwareLoss, VarifocalLoss
from mmdet_losses.functional.category.quality import matchability_aware_loss
from mmdet_losses.functional.fused import binary as fused_binary
from mmdet_losses.functional.fused.quality import matchability_aware_loss_sum


def deim_mal(logits, labels, matched, ious, num_boxes, gamma=1.5, mal_alpha=None):
    """DEIM's loss_labels_mal for ``logits`` (B, Q, C), ``matched`` (B, Q) bool with
    ``labels``/``ious`` of the matched queries in that order."""
    num_classes = logits.shape[-1]
    target_classes = torch.full(logits.shape[:2], num_classes, dtype=torch.int64)
    target_classes[matched] = labels
    target = F.one_hot(target_classes, num_classes + 1)[..., :-1]
    target_score_o = torch.zeros(logits.shape[:2], dtype=logits.dtype)
    target_score_o[matched] = ious.to(logits.dtype)
    target_score = (target_score_o.unsqueeze(-1) * target).pow(gamma)
    pred_score = torch.sigmoid(logits).detach()
    alpha = 1.0 if mal_alpha is None else mal_alpha
    weight = alpha * pred_score.pow(gamma) * (1 - target) + target
    loss = F.binary_cross_entropy_with_logits(logits, target_score, weight=weight,
                                              reduction='none')
    return loss.mean(1).sum() * logits.shape[1] / num_boxes


def batch(seed, b=2, q=30, c=5, zero_iou=True):
    gen = torch.Generator().manual_seed(seed)
    logits = (3 * torch.randn(b, q, c, generator=gen, dtype=torch.float64))
    matched = torch.rand(b, q, generator=gen) < 0.2
    n = int(matched.sum())
    labels = torch.randint(0, c, (n, ), generator=gen)
    ious = torch.rand(n, generator=gen, dtype=torch.float64)
    if zero_iou and n:
        ious[0] = 0.0  # a matched query whose box misses its ground truth
    return logits, matched, labels, ious


@pytest.mark.parametrize('gamma, alpha', [(1.5, None), (2.0, 0.75), (0.5, None),
                                          (1.0, 0.25)])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_value_and_gradient_equal_the_official_formula(seed, gamma, alpha):
    logits, matched, labels, ious = batch(seed)
    num_boxes = max(int(matched.sum()), 1)
    x_ref = logits.clone().requires_grad_()
    # MMDetection's avg_factor convention divides by avg_factor + float32's eps
    eps = torch.finfo(torch.float32).eps
    reference = deim_mal(x_ref, labels, matched, ious, num_boxes + eps, gamma, alpha)
    grad_ref, = torch.autograd.grad(reference, x_ref)

    c = logits.shape[-1]
    pred = logits.reshape(-1, c).clone().requires_grad_()
    flat_labels = torch.full(matched.shape, c, dtype=torch.int64)
    flat_labels[matched] = labels
    scores = torch.zeros(matched.shape, dtype=torch.float64)
    scores[matched] = ious
    loss = MatchabilityAwareLoss(gamma=gamma, alpha=alpha)
    ours = loss(pred, (flat_labels.reshape(-1), scores.reshape(-1)),
                avg_factor=num_boxes)
    grad, = torch.autograd.grad(ours, pred)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-12)
    torch.testing.assert_close(grad, grad_ref.reshape(-1, c), rtol=1e-10, atol=1e-14)


def test_a_positive_of_iou_zero_needs_the_label_form():
    """With (labels, scores) a matched query of IoU 0 is a positive (target 0,
    weight 1); in an (N, C) target it cannot be told from a negative."""
    pred = torch.tensor([[2.0, -1.0]])
    loss = MatchabilityAwareLoss(reduction='none')
    as_pair = loss(pred, (torch.tensor([0]), torch.tensor([0.0])))
    dense = loss(pred, torch.zeros(1, 2))
    bce = F.binary_cross_entropy_with_logits(pred[0, 0], torch.tensor(0.0))
    assert as_pair[0, 0].item() == pytest.approx(bce.item(), rel=1e-6)
    assert dense[0, 0].item() == pytest.approx(
        torch.sigmoid(torch.tensor(2.0)).pow(1.5).item() * bce.item(), rel=1e-6)
    assert as_pair[0, 1].item() == dense[0, 1].item()


def test_differs_from_vfl_where_the_paper_says():
    """At IoU q the positive's target is q^gamma (VFL: q) and its weight 1 (VFL: q);
    at gamma = 1 and alpha = 1 the negatives are VFL's with alpha = 1."""
    x = torch.tensor([[0.3, -0.4]], dtype=torch.float64)
    target = torch.tensor([[0.36, 0.0]], dtype=torch.float64)
    mal = MatchabilityAwareLoss(gamma=2.0, reduction='none')(x, target)
    expected = F.binary_cross_entropy_with_logits(x[0, 0], torch.tensor(0.36 ** 2,
                                                  dtype=torch.float64))
    assert mal[0, 0].item() == pytest.approx(expected.item(), rel=1e-12)
    vfl = VarifocalLoss(alpha=1.0, gamma=1.0, reduction='none')(x, target)
    mal1 = MatchabilityAwareLoss(gamma=1.0, reduction='none')(x, target)
    assert mal1[0, 1].item() == pytest.approx(vfl[0, 1].item(), rel=1e-12)
    assert mal1[0, 0].item() != pytest.approx(vfl[0, 0].item(), rel=1e-3)


@pytest.mark.parametrize('kwargs, message', [
    (dict(gamma=-1.0), 'gamma must be >= 0.0, got -1.0'),
    (dict(alpha=-0.5), 'alpha must be >= 0.0, got -0.5'),
    (dict(use_sigmoid=False), 'MatchabilityAwareLoss is a sigmoid loss: use_sigmoid '
     'must be True, got False'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MatchabilityAwareLoss(**kwargs)


def fused_inputs(seed, n=41, c=6, dtype=torch.float64, weighted=True):
    """Logits, labels (``c`` = background) with IoU scores (two positives of IoU
    0), and row weights with three ignored rows whose logits are garbage."""
    gen = torch.Generator().manual_seed(seed)
    pred = (3 * torch.randn(n, c, generator=gen, dtype=torch.float64)).to(dtype)
    labels = torch.randint(0, c + 1, (n, ), generator=gen)
    labels[:4] = torch.tensor([0, 1, 2, c])
    scores = torch.rand(n, generator=gen, dtype=torch.float64).to(dtype) * (labels < c)
    scores[:2] = 0.0
    weight = None
    if weighted:
        weight = torch.rand(n, 1, generator=gen, dtype=torch.float64).to(dtype)
        weight[-3:] = 0.0
        pred[-3, 0], pred[-2, 1], pred[-1, :] = float('inf'), float('nan'), -1e30
    return pred, labels, scores, weight


def value_and_grad(fn, pred, *args, **kwargs):
    x = pred.clone().requires_grad_()
    out = fn(x, *args, **kwargs)
    out.backward()
    return out.detach(), x.grad


def plain_sum(pred, labels, scores, weight, gamma, alpha, dense):
    """sum(weight * MAL) through the plain autograd function, ignored rows' logits
    replaced as the module's plain path does."""
    c = pred.shape[1]
    one_hot = F.one_hot(labels, c + 1)[:, :c]
    target = one_hot * scores[:, None]
    if weight is not None:
        pred = torch.where(weight > 0, pred, torch.zeros((), dtype=pred.dtype))
    loss = matchability_aware_loss(pred, target, gamma, alpha,
                                   positive=None if dense else one_hot.bool())
    return (loss if weight is None else loss * weight).sum()


@pytest.mark.parametrize('dtype, tol', [(torch.float64, dict(rtol=1e-12, atol=1e-14)),
                                        (torch.float32, dict(rtol=1e-5, atol=1e-6))])
@pytest.mark.parametrize('form', ['labels', 'dense'])
@pytest.mark.parametrize('weighted', [False, True], ids=['no_w', 'w_ignored_rows'])
@pytest.mark.parametrize('gamma, alpha', [(1.5, None), (2.0, 0.75), (1.0, None),
                                          (0.5, 0.25), (0.0, None)])
def test_fused_sum_equals_the_plain_form(dtype, tol, form, weighted, gamma, alpha):
    pred, labels, scores, weight = fused_inputs(0, dtype=dtype, weighted=weighted)
    c = pred.shape[1]
    target = labels if form == 'labels' else F.one_hot(labels, c + 1)[:, :c] * \
        scores[:, None]
    fused, fused_grad = value_and_grad(matchability_aware_loss_sum, pred, target,
                                       weight, gamma, alpha, scores=scores)
    plain, plain_grad = value_and_grad(plain_sum, pred, labels, scores, weight, gamma,
                                       alpha, form == 'dense')
    assert torch.isfinite(plain) and torch.isfinite(plain_grad).all()
    torch.testing.assert_close(fused, plain, **tol)
    torch.testing.assert_close(fused_grad, plain_grad, **tol)
    if weighted:
        assert fused_grad[-3:].abs().sum().item() == 0.0


def test_fused_sum_keeps_a_positive_of_iou_zero():
    """Row 0: label 0 with IoU 0, logit 2: a positive (BCE against 0, weight 1,
    gradient p) in the label form, a negative (weight p^1.5, gradient p^2.5) in the
    dense form."""
    pred = torch.tensor([[2.0, -1.0]], dtype=torch.float64)
    labels, scores = torch.tensor([0]), torch.tensor([0.0], dtype=torch.float64)
    p = torch.sigmoid(pred)
    as_pair, grad_pair = value_and_grad(matchability_aware_loss_sum, pred, labels,
                                        None, 1.5, None, scores=scores)
    dense, grad_dense = value_and_grad(matchability_aware_loss_sum, pred,
                                       torch.zeros(1, 2, dtype=torch.float64))
    softplus = F.softplus(pred)
    assert as_pair.item() == pytest.approx(
        (softplus[0, 0] + p[0, 1] ** 1.5 * softplus[0, 1]).item(), rel=1e-14)
    assert dense.item() == pytest.approx((p ** 1.5 * softplus).sum().item(), rel=1e-14)
    torch.testing.assert_close(grad_pair, torch.stack([p[0, 0], p[0, 1] ** 2.5])[None],
                               rtol=1e-14, atol=0)
    torch.testing.assert_close(grad_dense, p ** 2.5, rtol=1e-14, atol=0)


@pytest.mark.parametrize('reduction, avg_factor', [('mean', None), ('mean', 7.0),
                                                   ('sum', None)])
def test_module_reductions_equal_the_elementwise_loss(reduction, avg_factor):
    """The module reduces through the fused sum ('mean', 'sum'); 'none' is the
    plain form: the two agree, IoU-0 positives and ignored rows included."""
    pred, labels, scores, weight = fused_inputs(3)
    weight = weight[:, 0]
    loss = MatchabilityAwareLoss(loss_weight=2.0)
    elementwise = loss(pred, (labels, scores), weight, reduction_override='none')
    assert torch.isfinite(elementwise).all()
    total = elementwise.sum()  # weighted and scaled by loss_weight already
    expected = total if reduction == 'sum' else total / (
        pred.numel() if avg_factor is None
        else avg_factor + torch.finfo(torch.float32).eps)
    reduced = loss(pred, (labels, scores), weight, avg_factor=avg_factor,
                   reduction_override=reduction)
    assert reduced.item() == pytest.approx(expected.item(), rel=1e-12)


def test_fused_gradcheck_of_the_positives():
    """The negatives' weight p^gamma is detached, so the defined gradient is not the
    value's derivative there; with alpha 0 only the positives' BCE remains, whose
    gradient is (gradcheck against finite differences)."""
    pred, labels, scores, _ = fused_inputs(5, n=9, c=3, weighted=False)
    x = pred.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x: matchability_aware_loss_sum(x, labels, None, 1.5, 0.0,
                                              scores=scores), (x, ))


def test_half_precision_sums_in_float32():
    pred, labels, scores, weight = fused_inputs(4, dtype=torch.float32)
    pred[-3:] = 0.0
    half = pred.to(torch.float16)
    out, grad = value_and_grad(matchability_aware_loss_sum, half, labels, weight,
                               scores=scores)
    ref, ref_grad = value_and_grad(matchability_aware_loss_sum, half.float(), labels,
                                   weight, scores=scores)
    assert out.dtype == torch.float32 and grad.dtype == torch.float16
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=0)
    torch.testing.assert_close(grad, ref_grad.to(torch.float16), rtol=0, atol=0)


def test_compiled_kernel_equals_eager():
    previous = functional.get_compile()
    pred, labels, scores, weight = fused_inputs(6, n=64, dtype=torch.float32)
    loss = MatchabilityAwareLoss()
    try:
        functional.set_compile(True)
        compiled, compiled_grad = value_and_grad(loss, pred, (labels, scores), weight,
                                                 avg_factor=5.0)
        assert fused_binary._KERNELS['mal'].weighted_sum._compiled is not None
        assert fused_binary._KERNELS['mal'].weighted_grad._compiled is not None
        functional.set_compile(False)
        eager, eager_grad = value_and_grad(loss, pred, (labels, scores), weight,
                                           avg_factor=5.0)
    finally:
        functional.set_compile(previous)
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=0)
    torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-5, atol=1e-9)


def test_the_module_fuses_only_where_the_kernels_compile(monkeypatch):
    """Eager, the fused kernels are slower than the plain form (benchmarks/README.md):
    without a compiler the module takes the plain path."""
    import mmdet_losses.losses.quality as module
    calls = []
    real = module.matchability_aware_loss_sum

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, 'matchability_aware_loss_sum', counted)
    pred, labels, scores, weight = fused_inputs(7, dtype=torch.float32)
    loss = MatchabilityAwareLoss()
    previous = functional.get_compile()
    try:
        functional.set_compile(False)
        eager = loss(pred, (labels, scores), weight[:, 0], avg_factor=3.0)
        assert calls == []
        functional.set_compile(True)
        compiled = loss(pred, (labels, scores), weight[:, 0], avg_factor=3.0)
        assert calls == [1]
    finally:
        functional.set_compile(previous)
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=0)
