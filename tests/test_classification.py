"""Category losses: hand-derived values, invariants, gradcheck, numerics and the
error paths of CrossEntropyLoss and FocalLoss (functions and modules)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmdet_losses import CrossEntropyLoss, FocalLoss
from mmdet_losses.functional import (binary_cross_entropy, one_hot,
                                     sigmoid_focal_loss, softmax_cross_entropy,
                                     softmax_focal_loss)

LN2, LN4, LN9 = math.log(2), math.log(4), math.log(9)

# The four losses a detection head can use, by their build arguments.
SIGMOID_FOCAL = dict(cls=FocalLoss)
SIGMOID_CE = dict(cls=CrossEntropyLoss, use_sigmoid=True)
SOFTMAX_CE = dict(cls=CrossEntropyLoss, use_sigmoid=False)
SOFTMAX_FOCAL = dict(cls=FocalLoss, use_sigmoid=False)
ALL_LOSSES = [SIGMOID_FOCAL, SIGMOID_CE, SOFTMAX_CE, SOFTMAX_FOCAL]
LOSS_IDS = ['sigmoid_focal', 'sigmoid_ce', 'softmax_ce', 'softmax_focal']


def build(spec, **kwargs):
    spec = dict(spec)
    return spec.pop('cls')(**spec, **kwargs)


def is_sigmoid(spec):
    return spec.get('use_sigmoid', spec['cls'] is FocalLoss)


def random_inputs(spec, n=24, num_classes=4, dtype=torch.float32, seed=0):
    """Logits of C (sigmoid) or C + 1 (softmax) channels and labels in [0, C]."""
    gen = torch.Generator().manual_seed(seed)
    channels = num_classes if is_sigmoid(spec) else num_classes + 1
    pred = (3 * torch.randn(n, channels, generator=gen)).to(dtype)
    labels = torch.randint(0, num_classes + 1, (n, ), generator=gen)
    return pred, labels


# ---------------------------------------------------------- hand-derived values

def test_sigmoid_focal_reference_values():
    # C = 2, label 0. Class 0 (t=1), x=0: p_t = 0.5, BCE = ln 2,
    #   FL = 0.25 * 0.5^2 * ln 2 = 0.0433217.
    # Class 1 (t=0), x=ln 9: p = 0.9, p_t = 0.1, BCE = ln 10,
    #   FL = 0.75 * 0.9^2 * ln 10 = 1.3988205.
    expected = torch.tensor([[0.25 * 0.25 * LN2, 0.75 * 0.81 * math.log(10)]],
                            dtype=torch.float64)
    pred = torch.tensor([[0.0, LN9]], dtype=torch.float64)
    out = FocalLoss(reduction='none')(pred, torch.tensor([0]))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)
    # Probabilities instead of logits give the same values.
    probs = torch.tensor([[0.5, 0.9]], dtype=torch.float64)
    out = FocalLoss(reduction='none', activated=True)(probs, torch.tensor([0]))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)
    # mean over the 2 elements, sum, loss_weight.
    assert FocalLoss()(pred, torch.tensor([0])).item() == \
        pytest.approx(expected.sum().item() / 2, rel=1e-12)
    assert FocalLoss(reduction='sum', loss_weight=3.0)(pred, torch.tensor([0])) \
        .item() == pytest.approx(3 * expected.sum().item(), rel=1e-12)


@pytest.mark.parametrize('p_t, ratio', [
    (0.9, 100.0),          # (1 - 0.9)^-2 = 100: the paper's "100x lower loss"
    (0.968, 976.5625),     # (1 - 0.968)^-2 = 976.6: "about 1000x"
])
@pytest.mark.parametrize('positive', [True, False])
def test_paper_focal_to_ce_ratio(p_t, ratio, positive):
    # A well-classified example, positive (x = logit(p_t), label 0) or negative
    # (x = -logit(p_t), label C = background); gamma = 2 without alpha.
    logit = math.log(p_t / (1 - p_t))
    pred = torch.tensor([[logit if positive else -logit]], dtype=torch.float64)
    labels = torch.tensor([0 if positive else 1])
    focal = FocalLoss(gamma=2.0, alpha=None, reduction='none')(pred, labels)
    ce = CrossEntropyLoss(use_sigmoid=True, reduction='none')(pred, labels)
    assert ce.item() == pytest.approx(-math.log(p_t), rel=1e-12)
    assert (ce / focal).item() == pytest.approx(ratio, rel=1e-9)


# Softmax over 3 logits [0, 0, ln 2] (2 classes + background): p = [1/4, 1/4, 1/2].
SOFTMAX_LOGITS = [[0.0, 0.0, LN2], [0.0, 0.0, LN2]]
SOFTMAX_LABELS = [0, 2]   # CE = [ln 4, ln 2]; (1 - p_y)^2 = [9/16, 1/4]


@pytest.mark.parametrize('alpha, expected', [
    (None, [0.5625 * LN4, 0.25 * LN2]),
    (0.25, [0.25 * 0.5625 * LN4, 0.75 * 0.25 * LN2]),   # background gets 1 - alpha
    ([0.5, 2.0, 1.0], [0.5 * 0.5625 * LN4, 1.0 * 0.25 * LN2]),
])
def test_softmax_focal_reference_values(alpha, expected):
    pred = torch.tensor(SOFTMAX_LOGITS, dtype=torch.float64)
    labels = torch.tensor(SOFTMAX_LABELS)
    expected = torch.tensor(expected, dtype=torch.float64)
    out = FocalLoss(use_sigmoid=False, alpha=alpha, reduction='none')(pred, labels)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(softmax_focal_loss(pred, labels, 2.0, alpha),
                               expected, rtol=1e-12, atol=0)
    # An ignored label (-100 by default) costs 0.
    out = softmax_focal_loss(pred, torch.tensor([0, -100]), 2.0, alpha)
    torch.testing.assert_close(out, torch.stack([expected[0], 0 * expected[1]]))
    probs = pred.softmax(1)
    out = FocalLoss(use_sigmoid=False, alpha=alpha, activated=True,
                    reduction='none')(probs, labels)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize('kwargs, expected', [
    ({'reduction': 'none'}, [LN4, LN2]),
    ({}, 1.5 * LN2),                                    # (ln 4 + ln 2) / 2
    # MMDetection's mean divides by N, not by the sum of the class weights as
    # F.cross_entropy's mean does: (ln 4 + 0.5 ln 2) / 2 = 1.25 ln 2.
    ({'class_weight': [1.0, 1.0, 0.5]}, 1.25 * LN2),
    # Smoothing 0.1 over K = 3: target 0.9 + 0.1/3 on the label, 0.1/3 elsewhere.
    # label 2: (0.9 + 0.1/3) ln 2 + (0.1/3)(2 ln 4) = (16/15) ln 2.
    ({'label_smoothing': 0.1, 'reduction': 'none'},
     [(0.9 + 0.1 / 3) * LN4 + 0.1 / 3 * (LN4 + LN2), 16 / 15 * LN2]),
])
def test_softmax_ce_reference_values(kwargs, expected):
    pred = torch.tensor(SOFTMAX_LOGITS, dtype=torch.float64)
    out = CrossEntropyLoss(**kwargs)(pred, torch.tensor(SOFTMAX_LABELS))
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64),
                               rtol=1e-12, atol=0)


def test_softmax_ce_ignore_index_and_avg_non_ignore():
    # Labels [0, 2, -1] with ignore_index=-1: losses [ln 4, ln 2, 0].
    pred = torch.tensor(SOFTMAX_LOGITS + [[5.0, 1.0, 2.0]], dtype=torch.float64)
    labels = torch.tensor([0, 2, -1])
    none = CrossEntropyLoss(ignore_index=-1, reduction='none')(pred, labels)
    torch.testing.assert_close(none, torch.tensor([LN4, LN2, 0.0],
                                                  dtype=torch.float64))
    assert CrossEntropyLoss(ignore_index=-1)(pred, labels).item() == \
        pytest.approx(LN2, rel=1e-12)                      # 3 ln 2 / 3
    assert CrossEntropyLoss(ignore_index=-1, avg_non_ignore=True)(
        pred, labels).item() == pytest.approx(1.5 * LN2, rel=1e-6)   # 3 ln 2 / 2
    # Without ignore_index, -100 is ignored (F.cross_entropy's default).
    out = CrossEntropyLoss(reduction='none')(pred, torch.tensor([0, 2, -100]))
    assert out[2].item() == 0.0


def test_sigmoid_ce_reference_values():
    # C = 2. Row 0: label 0, x = [0, ln 3]: BCE = [ln 2, -ln(1 - 3/4) = ln 4].
    # Row 1: label 2 (background), x = [0, 0]: BCE = [ln 2, ln 2].
    pred = torch.tensor([[0.0, math.log(3)], [0.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 2])
    expected = torch.tensor([[LN2, LN4], [LN2, LN2]], dtype=torch.float64)
    out = CrossEntropyLoss(use_sigmoid=True, reduction='none')(pred, labels)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)
    # Float targets of pred's shape are used as they are (here one-hot).
    target = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    out = CrossEntropyLoss(use_sigmoid=True, reduction='none')(pred, target)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)
    # class_weight weighs each class's whole binary loss: [2, 3] ->
    # (2 ln 2 + 3 ln 4 + 2 ln 2 + 3 ln 2) / 4 = 13/4 ln 2.
    out = CrossEntropyLoss(use_sigmoid=True, class_weight=[2.0, 3.0])(pred, labels)
    assert out.item() == pytest.approx(13 / 4 * LN2, rel=1e-12)


@pytest.mark.parametrize('shape', [(6, ), (2, 3, 4)])
def test_sigmoid_ce_float_targets_of_any_shape(shape):
    # Float targets of pred's shape are used as they are, whatever that shape:
    # FCOS/ATSS centerness sends pred (P,) with targets (P,). x = 0, t = 1/2 (or
    # any t): BCE = ln 2 everywhere.
    pred = torch.zeros(shape, dtype=torch.float64)
    target = torch.rand(shape, dtype=torch.float64)
    out = CrossEntropyLoss(use_sigmoid=True)(pred, target)
    assert out.item() == pytest.approx(LN2, rel=1e-12)


def test_sigmoid_ce_label_smoothing():
    # s = 0.2: t = 1 -> 0.9, t = 0 -> 0.1. x = ln 9 (p = 0.9), t = 0.9:
    # BCE = -0.9 ln 0.9 - 0.1 ln 0.1 = 0.3250830.
    pred = torch.tensor([[LN9]], dtype=torch.float64)
    out = CrossEntropyLoss(use_sigmoid=True, label_smoothing=0.2,
                           reduction='sum')(pred, torch.tensor([0]))
    assert out.item() == pytest.approx(-0.9 * math.log(0.9) - 0.1 * math.log(0.1),
                                       rel=1e-12)


def test_sigmoid_ce_ignore_index():
    # C = 2, zero logits: every element ln 2. Row 1 (label 255) ignored.
    pred = torch.zeros(2, 2, dtype=torch.float64)
    labels = torch.tensor([0, 255])
    none = CrossEntropyLoss(use_sigmoid=True, ignore_index=255,
                            reduction='none')(pred, labels)
    torch.testing.assert_close(none, torch.tensor([[LN2, LN2], [0.0, 0.0]],
                                                  dtype=torch.float64))
    mean = CrossEntropyLoss(use_sigmoid=True, ignore_index=255)(pred, labels)
    assert mean.item() == pytest.approx(0.5 * LN2, rel=1e-12)    # 2 ln 2 / 4
    mean = CrossEntropyLoss(use_sigmoid=True, ignore_index=255,
                            avg_non_ignore=True)(pred, labels)
    assert mean.item() == pytest.approx(LN2, rel=1e-6)           # 2 ln 2 / 2


def test_one_hot():
    torch.testing.assert_close(one_hot(torch.tensor([0, 2, 1])),
                               torch.tensor([[1, 0, 0], [0, 0, 1], [0, 1, 0]]))
    assert one_hot(torch.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    assert one_hot(torch.tensor([], dtype=torch.long), 3).shape == (0, 3)
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 2\], got 3'):
        one_hot(torch.tensor([0, 3]), num_classes=3)
    with pytest.raises(ValueError, match='got -1'):
        one_hot(torch.tensor([-1, 0]))
    with pytest.raises(TypeError, match='integer'):
        one_hot(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match='num_classes'):
        one_hot(torch.tensor([0]), num_classes=-2)


# -------------------------------------------------------------------- invariants

def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (v0.17), transcribed, reduction='none'."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t)**gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


@pytest.mark.parametrize('gamma', [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize('alpha', [0.25, -1])
@pytest.mark.parametrize('soft', [False, True])
def test_sigmoid_focal_matches_torchvision_formula(gamma, alpha, soft):
    gen = torch.Generator().manual_seed(1)
    pred = 3 * torch.randn(30, 5, generator=gen, dtype=torch.float64)
    target = torch.rand(30, 5, generator=gen, dtype=torch.float64) if soft else \
        (torch.rand(30, 5, generator=gen) < 0.3).double()
    ours = sigmoid_focal_loss(pred, target, gamma, None if alpha < 0 else alpha)
    theirs = torchvision_sigmoid_focal_loss(pred, target, alpha, gamma)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-15)
    module = FocalLoss(gamma=gamma, alpha=None if alpha < 0 else alpha,
                       reduction='sum')
    torch.testing.assert_close(module(pred, target), theirs.sum(), rtol=1e-12,
                               atol=0)


def test_focal_gamma_zero_is_bce():
    pred, labels = random_inputs(SIGMOID_FOCAL, dtype=torch.float64)
    target = F.one_hot(labels, 5)[:, :4].double()
    bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    for reduction in ('none', 'mean', 'sum'):
        reduce = {'none': bce, 'mean': bce.mean(), 'sum': bce.sum()}[reduction]
        focal = FocalLoss(gamma=0.0, alpha=None, reduction=reduction)
        ce = CrossEntropyLoss(use_sigmoid=True, reduction=reduction)
        torch.testing.assert_close(focal(pred, labels), reduce, rtol=1e-13, atol=0)
        torch.testing.assert_close(ce(pred, labels), reduce, rtol=1e-13, atol=0)
    # gamma = 0 with alpha: alpha-balanced BCE exactly.
    balanced = bce * (0.25 * target + 0.75 * (1 - target))
    torch.testing.assert_close(
        FocalLoss(gamma=0.0, alpha=0.25, reduction='none')(pred, labels), balanced,
        rtol=1e-13, atol=0)
    torch.testing.assert_close(binary_cross_entropy(pred, target), bce)


def test_softmax_focal_gamma_zero_is_ce():
    pred, labels = random_inputs(SOFTMAX_FOCAL, dtype=torch.float64)
    ce = F.cross_entropy(pred, labels, reduction='none')
    torch.testing.assert_close(
        FocalLoss(use_sigmoid=False, gamma=0.0, alpha=None, reduction='none')(
            pred, labels), ce, rtol=1e-13, atol=0)
    torch.testing.assert_close(softmax_cross_entropy(pred, labels), ce)
    torch.testing.assert_close(CrossEntropyLoss()(pred, labels), ce.mean())


@pytest.mark.parametrize('spec', ALL_LOSSES, ids=LOSS_IDS)
def test_output_shapes(spec):
    pred, labels = random_inputs(spec, n=7)
    expected = pred.shape if is_sigmoid(spec) else (7, )
    assert build(spec, reduction='none')(pred, labels).shape == expected
    assert build(spec)(pred, labels).shape == ()


@pytest.mark.parametrize('spec', ALL_LOSSES, ids=LOSS_IDS)
def test_weight_and_avg_factor(spec):
    # mean with avg_factor = sum(weight * element-wise loss) / (avg_factor + eps).
    pred, labels = random_inputs(spec, dtype=torch.float64)
    weight = torch.rand(24, dtype=torch.float64)
    elementwise = build(spec, reduction='none')(pred, labels)
    w = weight[:, None] if elementwise.dim() == 2 else weight
    expected = (elementwise * w).sum() / (5.0 + torch.finfo(torch.float32).eps)
    out = build(spec, loss_weight=2.0)(pred, labels, weight, avg_factor=5.0)
    torch.testing.assert_close(out, 2 * expected, rtol=1e-12, atol=0)


# --------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize('spec, kwargs', [
    (SIGMOID_FOCAL, {}), (SIGMOID_FOCAL, {'gamma': 0.5, 'alpha': None}),
    (SIGMOID_FOCAL, {'activated': True}), (SIGMOID_CE, {'label_smoothing': 0.1}),
    (SOFTMAX_CE, {'class_weight': [1.0, 0.5, 2.0, 1.0, 3.0]}),
    (SOFTMAX_FOCAL, {'gamma': 0.5, 'alpha': 0.25}),
    (SOFTMAX_FOCAL, {'activated': True}),
], ids=['sigmoid_focal', 'sigmoid_focal_g0.5', 'sigmoid_focal_prob',
        'sigmoid_ce_smooth', 'softmax_ce_cw', 'softmax_focal_g0.5',
        'softmax_focal_prob'])
@pytest.mark.parametrize('reduction', ['none', 'mean'])
def test_gradcheck(spec, kwargs, reduction):
    pred, labels = random_inputs(spec, n=6, num_classes=4, dtype=torch.float64)
    pred = pred / 3
    if kwargs.get('activated'):
        pred = pred.sigmoid() if is_sigmoid(spec) else pred.softmax(1)
    pred.requires_grad_()
    loss = build(spec, reduction=reduction, **kwargs)
    weight = torch.rand(6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels, weight), (pred, ))


def test_gradcheck_soft_targets():
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.rand(5, 3, generator=gen, dtype=torch.float64)
    for loss in (FocalLoss(), CrossEntropyLoss(use_sigmoid=True)):
        assert torch.autograd.gradcheck(lambda x: loss(x, target), (pred, ))


# ---------------------------------------------------------------------- numerics

@pytest.mark.parametrize('gamma', [2.0, 0.5])
@pytest.mark.parametrize('reduction', ['sum', 'none'])
def test_sigmoid_focal_saturated_logits(gamma, reduction):
    # C = 3. Row 0 label 0: x = [100, -100, 100]; row 1 background: [-100, 100, -100].
    # Only the two confident mistakes (t = 0, x = 100) cost: BCE = 100, q = p = 1,
    # alpha_t = 0.75 -> 75 each; their gradient is 0.75 * (p - t) = 0.75, every
    # other element ~0 (exp(-100)).
    pred = torch.tensor([[100.0, -100.0, 100.0], [-100.0, 100.0, -100.0]],
                        requires_grad=True)
    out = FocalLoss(gamma=gamma, reduction=reduction)(pred, torch.tensor([0, 3]))
    assert torch.isfinite(out).all()
    assert out.sum().item() == pytest.approx(150.0, rel=1e-6)
    out.sum().backward()
    expected = torch.tensor([[0.0, 0.0, 0.75], [0.0, 0.75, 0.0]])
    torch.testing.assert_close(pred.grad, expected, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize('gamma', [2.0, 0.5, 0.0])
def test_softmax_saturated_logits(gamma):
    # Row 0: label 1, logits [100, -100, -100]: log p_1 = -200, (1 - p_1) = 1 -> 200;
    # gradient softmax - one_hot = [1, -1, 0]. Row 1: label 0, loss ~0, gradient ~0.
    pred = torch.tensor([[100.0, -100.0, -100.0], [100.0, -100.0, -100.0]],
                        requires_grad=True)
    labels = torch.tensor([1, 0])
    for loss in (FocalLoss(use_sigmoid=False, gamma=gamma, alpha=None,
                           reduction='sum'), CrossEntropyLoss(reduction='sum')):
        pred.grad = None
        out = loss(pred, labels)
        assert out.item() == pytest.approx(200.0, rel=1e-6)
        out.backward()
        torch.testing.assert_close(
            pred.grad, torch.tensor([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]),
            rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize('spec', [SIGMOID_FOCAL, SOFTMAX_FOCAL], ids=['sig', 'soft'])
def test_activated_saturated_probabilities(spec):
    # Probabilities exactly 0 and 1, gamma < 1: finite values and gradients.
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], requires_grad=True)
    loss = build(spec, gamma=0.5, activated=True, reduction='sum')
    out = loss(probs, torch.tensor([0, 2]))
    assert torch.isfinite(out) and out.item() > 0     # row 1 is a confident mistake
    out.backward()
    assert torch.isfinite(probs.grad).all()


@pytest.mark.parametrize('spec', ALL_LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('reduction', ['none', 'mean'])
def test_half_precision_is_computed_in_float32(spec, dtype, reduction):
    pred, labels = random_inputs(spec, n=64, dtype=dtype)
    loss = build(spec, reduction=reduction)
    out = loss(pred, labels)
    assert out.dtype == torch.float32
    # Same inputs upcast once, and no rounding back: the float32 loss exactly.
    torch.testing.assert_close(out, loss(pred.float(), labels), rtol=0, atol=0)
    pred.requires_grad_()
    loss(pred, labels).sum().backward()
    assert pred.grad.dtype == dtype and torch.isfinite(pred.grad).all()


@pytest.mark.parametrize('spec', ALL_LOSSES + [dict(SIGMOID_FOCAL, activated=True)],
                         ids=LOSS_IDS + ['sigmoid_focal_prob'])
def test_half_precision_mean_of_many_elements_is_finite(spec):
    # 60,000 x 81 fp16 logits: a sample's loss is ~2 to ~80 (all four losses), the
    # sum ~1e5 or more exceeds fp16's largest value (65504), the mean does not.
    # Computed and returned in float32, the mean is finite.
    pred, labels = random_inputs(spec, n=60000, num_classes=80, dtype=torch.float16)
    if spec.get('activated'):
        pred = pred.float().sigmoid().half()
    loss = build(spec)
    expected = loss(pred.float(), labels)
    torch.testing.assert_close(loss(pred, labels).float(), expected, rtol=1e-3,
                               atol=0)


@pytest.mark.parametrize('spec', ALL_LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_empty_input(spec, reduction):
    channels = 4 if is_sigmoid(spec) else 5
    pred = torch.zeros(0, channels, requires_grad=True)
    labels = torch.zeros(0, dtype=torch.long)
    out = build(spec, reduction=reduction)(pred, labels, avg_factor=0.0
                                           if reduction == 'mean' else None)
    assert out.item() == 0.0 and out.grad_fn is not None
    out.backward()
    assert pred.grad.shape == (0, channels)
    none = build(spec, reduction='none')(pred, labels)
    assert none.shape == ((0, channels) if is_sigmoid(spec) else (0, ))


# ------------------------------------------------------------------ error paths

@pytest.mark.parametrize('cls, kwargs, name, value', [
    (FocalLoss, {'gamma': -1.0}, 'gamma', '-1.0'),
    (FocalLoss, {'gamma': float('nan')}, 'gamma', 'nan'),
    (FocalLoss, {'alpha': 1.5}, 'alpha', '1.5'),
    (FocalLoss, {'alpha': -0.1}, 'alpha', '-0.1'),
    (FocalLoss, {'alpha': [0.25, 0.75]}, 'alpha', r'\[0.25, 0.75\]'),
    (FocalLoss, {'use_sigmoid': False, 'alpha': [1.0, -2.0]}, r'alpha\[1\]', '-2.0'),
    (FocalLoss, {'use_sigmoid': False, 'alpha': 'x'}, 'alpha', "'x'"),
    (FocalLoss, {'loss_weight': float('inf')}, 'loss_weight', 'inf'),
    (FocalLoss, {'reduction': 'avg'}, 'reduction', "'avg'"),
    (CrossEntropyLoss, {'label_smoothing': 1.0}, 'label_smoothing', '1.0'),
    (CrossEntropyLoss, {'label_smoothing': -0.1}, 'label_smoothing', '-0.1'),
    (CrossEntropyLoss, {'loss_weight': float('nan')}, 'loss_weight', 'nan'),
    (CrossEntropyLoss, {'reduction': 'Mean'}, 'reduction', "'Mean'"),
    (CrossEntropyLoss, {'class_weight': [1.0, -1.0]}, r'class_weight\[1\]', '-1.0'),
    (CrossEntropyLoss, {'ignore_index': 1.5}, 'ignore_index', '1.5'),
])
def test_invalid_hyper_parameters(cls, kwargs, name, value):
    with pytest.raises(ValueError, match=f'{name} must .*got {value}'):
        cls(**kwargs)


@pytest.mark.parametrize('spec', ALL_LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize('bad', [5, -1])
def test_labels_out_of_range(spec, bad):
    # C = 4: labels must lie in [0, 4] (4 = background) for both forms.
    pred, labels = random_inputs(spec, n=6)
    labels[2] = bad
    with pytest.raises(ValueError, match=rf'labels must lie in \[0, 4\].*got {bad}'):
        build(spec)(pred, labels)


@pytest.mark.parametrize('spec', ALL_LOSSES, ids=LOSS_IDS)
def test_label_shape_mismatch_names_both_shapes(spec):
    pred, labels = random_inputs(spec, n=6)
    with pytest.raises(ValueError, match=rf'{tuple(pred.shape)}.*\(5,\)'):
        build(spec)(pred, labels[:5])
    with pytest.raises(ValueError, match=r'\(6,\)'):
        build(spec)(pred[:, 0], labels)                  # 1-D pred


@pytest.mark.parametrize('spec', [SIGMOID_FOCAL, SIGMOID_CE], ids=['focal', 'ce'])
def test_float_target_shape_mismatch(spec):
    with pytest.raises(ValueError, match=r'\(6, 4\) and \(6, 5\)'):
        build(spec)(torch.zeros(6, 4), torch.zeros(6, 5))


@pytest.mark.parametrize('spec', [SOFTMAX_CE, SOFTMAX_FOCAL], ids=['ce', 'focal'])
def test_softmax_rejects_float_targets(spec):
    with pytest.raises(ValueError, match='integer labels'):
        build(spec)(torch.zeros(6, 5), torch.zeros(6, 5))


@pytest.mark.parametrize('use_sigmoid, expected', [(True, 4), (False, 5)])
def test_class_weight_length_is_checked(use_sigmoid, expected):
    loss = CrossEntropyLoss(use_sigmoid=use_sigmoid, class_weight=[1.0] * 3)
    channels = 4 if use_sigmoid else 5
    with pytest.raises(ValueError, match=f'class_weight must have {expected} '
                       'entries.*got 3'):
        loss(torch.zeros(6, channels), torch.zeros(6, dtype=torch.long))


def test_softmax_alpha_list_length_is_checked():
    with pytest.raises(ValueError, match=r'\(5,\).*got shape \(3,\)'):
        FocalLoss(use_sigmoid=False, alpha=[1.0, 1.0, 1.0])(
            torch.zeros(6, 5), torch.zeros(6, dtype=torch.long))


def background_majority_labels(n=32, num_channels=4):
    """What a head predicting C + 1 = num_channels channels sends a sigmoid loss:
    background (label C = num_channels - 1) is the majority, no label num_channels."""
    labels = torch.full((n, ), num_channels - 1)
    labels[:5] = torch.arange(5) % (num_channels - 1)
    return labels


@pytest.mark.parametrize('spec', [SIGMOID_FOCAL, SIGMOID_CE], ids=['focal', 'ce'])
def test_sigmoid_loss_fed_background_channel_raises(spec):
    loss = build(spec)
    with pytest.raises(ValueError, match=r"use_sigmoid=True in the head's loss_cls"):
        loss(torch.zeros(32, 4), background_majority_labels())


@pytest.mark.parametrize('spec', [SIGMOID_FOCAL, SIGMOID_CE], ids=['focal', 'ce'])
def test_background_check_spares_correct_heads(spec):
    labels = background_majority_labels()
    labels[-1] = 4                       # a real background label for 4 channels
    build(spec)(torch.zeros(32, 4), labels)
    # Fewer than 16 labels are too few to judge.
    build(spec)(torch.zeros(15, 4), background_majority_labels(15))


def test_background_check_runs_on_first_call_with_enough_labels():
    # The _CategoryLoss docstring: "On its first call with at least 16 integer
    # labels, a sigmoid loss therefore raises ...". A first call with 4 labels is
    # too small to judge and must not use up the check.
    loss = FocalLoss()
    loss(torch.zeros(4, 4), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match='use_sigmoid=True'):
        loss(torch.zeros(32, 4), background_majority_labels())
