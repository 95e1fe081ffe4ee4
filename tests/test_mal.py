"""MatchabilityAwareLoss against DEIM's own formula (Huang et al., arXiv 2412.04234,
the official criterion's ``loss_labels_mal``), written here the way that code computes
it on a batch of queries: one-hot targets of the matched queries' classes, the IoU
raised to ``gamma`` as the target, weight 1 on the positives and ``alpha p^gamma``
(``p`` detached) elsewhere, BCE with logits, summed and divided by the number of
boxes."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_losses import MatchabilityAwareLoss, VarifocalLoss


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
