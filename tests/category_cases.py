"""Hand-derived reference values of the category losses.

Every value is worked out from the papers' formulas, never from the implementation:
the working is in the comment above each row and the value is written as the
arithmetic on those numbers. Notation: logit ``x``, ``p = sigmoid(x)``, target ``t``,
``BCE(x, t) = -t ln p - (1 - t) ln(1 - p)``; at ``x = 0``: ``p = 1/2``,
``BCE = ln 2`` for every ``t``.

* Focal (sigmoid): ``alpha_t q^gamma BCE``, ``q = p (1 - t) + (1 - p) t``.
* QFL: ``|t - p|^beta BCE`` summed over classes (``(N,)``).
* VFL: ``t BCE`` (``t > 0``, iou_weighted) or ``alpha p^gamma BCE`` (``t = 0``).
* MAL: ``BCE(x, q^gamma)`` at a positive (weight 1), ``alpha p^gamma BCE(x, 0)``
  elsewhere; the weight is a constant, so ``d/dx = w (p - target)``.
* DFL: ``-(w_l ln S_l + w_r ln S_r)`` over the bins around ``y``, ``S = softmax``.
* GHM-C: ``BCE`` weighted by ``N / (n R_j)``, averaged over the ``N`` valid elements.
* Softmax losses over ``C + 1`` logits: ``CE = -ln softmax(x)_y``.

A new category loss adds one row here: the parametrized tests in
tests/test_category_table.py check its value, its reductions, gradcheck, saturated
logits, half precision and empty input, and fail for a registered category loss
without a row.
"""
import math
from typing import NamedTuple, Optional, Union

LN2, LN3 = math.log(2), math.log(3)


class CategoryCase(NamedTuple):
    name: str
    loss: dict                 # build arguments; 'type' is this package's class name
    pred: list                 # logits
    target: Union[list, tuple]  # labels, float targets, or (labels, scores)
    expected: list             # the 'none' output
    num_elements: Optional[int] = None  # divisor of 'mean' (default: numel of 'none')
    # d 'sum' / d pred, hand-derived, for a loss that holds a weight constant (no
    # gradient through it): gradcheck would differentiate the weight too
    grad: Optional[list] = None


CATEGORY_CASES = [
    # C = 2, label 0. Class 0 (t=1), x=0: q = 1/2, FL = 0.25 * 1/4 * ln 2.
    # Class 1 (t=0), x=ln 9: p = 0.9, q = 0.9, BCE = ln 10, FL = 0.75 * 0.81 * ln 10.
    CategoryCase('focal', dict(type='FocalLoss'), [[0.0, math.log(9)]], [0],
                 [[0.25 * 0.25 * LN2, 0.75 * 0.81 * math.log(10)]]),
    # Soft target t = 0.2 at x = 0, gamma 2, no alpha: q = 0.5*0.8 + 0.5*0.2 = 0.5,
    # FL = 0.25 ln 2 = 0.1733 (MMDetection's form; QFL gives 0.09 ln 2 = 0.0624).
    CategoryCase('focal_soft', dict(type='FocalLoss', alpha=None), [[0.0]], [[0.2]],
                 [[0.25 * LN2]]),
    # Softmax focal, logits [0, 0, ln 2]: p = [1/4, 1/4, 1/2]; label 0: (3/4)^2 ln 4
    # with alpha 0.25; label 2 (background): (1/2)^2 ln 2 with 1 - alpha = 0.75.
    CategoryCase('softmax_focal', dict(type='FocalLoss', use_sigmoid=False),
                 [[0.0, 0.0, LN2], [0.0, 0.0, LN2]], [0, 2],
                 [0.25 * 0.5625 * 2 * LN2, 0.75 * 0.25 * LN2]),
    # BCE: x = 0 -> ln 2; x = ln 3, t = 0 (background label 2): -ln(1/4) = 2 ln 2.
    CategoryCase('bce', dict(type='CrossEntropyLoss', use_sigmoid=True),
                 [[0.0, LN3]], [2], [[LN2, 2 * LN2]]),
    # Softmax CE on [0, 0, ln 2]: label 0 -> ln 4, label 2 -> ln 2.
    CategoryCase('softmax_ce', dict(type='CrossEntropyLoss'),
                 [[0.0, 0.0, LN2], [0.0, 0.0, LN2]], [0, 2], [2 * LN2, LN2]),
    # QFL, C = 2, x = 0, label 0 with score 0.2: class 0 |0.2 - 0.5|^2 ln 2 =
    # 0.09 ln 2, class 1 (t = 0) 0.25 ln 2; summed: 0.34 ln 2.
    # Row 2: x = [ln 3, -ln 3], label 0 with score 0.75 = p: modulator 0; class 1
    # p = 1/4, t = 0: (1/4)^2 ln(4/3). Row 3: background (label 2), x = 0: 2 * 0.25 ln 2.
    CategoryCase('qfl', dict(type='QualityFocalLoss'),
                 [[0.0, 0.0], [LN3, -LN3], [0.0, 0.0]], ([0, 0, 2], [0.2, 0.75, 0.0]),
                 [0.34 * LN2, 0.0625 * math.log(4 / 3), 0.5 * LN2]),
    # VFL, x = 0: positive t = 0.6: 0.6 ln 2; negative: 0.75 * (1/2)^2 ln 2.
    CategoryCase('vfl', dict(type='VarifocalLoss'), [[0.0, 0.0]], [[0.6, 0.0]],
                 [[0.6 * LN2, 0.1875 * LN2]]),
    # Same with iou_weighted=False: the positive is weighted by 1.
    CategoryCase('vfl_unweighted', dict(type='VarifocalLoss', iou_weighted=False),
                 [[0.0, 0.0]], ([0], [0.6]), [[LN2, 0.1875 * LN2]]),
    # MAL, gamma 1.5, no alpha. Row 1, label 0 with IoU 0.64: target 0.64^1.5 = 0.512
    # at x = ln 3 (p = 3/4): BCE = 0.512 ln(4/3) + 0.488 ln 4, weight 1; class 1,
    # x = 0: (1/2)^1.5 ln 2. Row 2, label 0 with IoU 0 (still a positive): target 0
    # at x = 0, weight 1: ln 2; class 1, x = ln 3: (3/4)^1.5 ln 4. Row 3 (background,
    # label 2), x = 0: (1/2)^1.5 ln 2 twice. Gradients w (p - target): 3/4 - 0.512,
    # (1/2)^1.5 / 2; 1/2, (3/4)^1.5 3/4; (1/2)^1.5 / 2 twice.
    CategoryCase('mal', dict(type='MatchabilityAwareLoss'),
                 [[LN3, 0.0], [0.0, LN3], [0.0, 0.0]], ([0, 0, 2], [0.64, 0.0, 0.0]),
                 [[0.512 * math.log(4 / 3) + 0.488 * 2 * LN2, 0.5 ** 1.5 * LN2],
                  [LN2, 0.75 ** 1.5 * 2 * LN2],
                  [0.5 ** 1.5 * LN2, 0.5 ** 1.5 * LN2]],
                 grad=[[0.75 - 0.512, 0.5 ** 2.5], [0.5, 0.75 ** 2.5],
                       [0.5 ** 2.5, 0.5 ** 2.5]]),
    # alpha 0.5 on an (N, C) IoU target at x = 0: positive 0.6 -> ln 2 (BCE at x = 0
    # is ln 2 whatever the target), negative 0.5 (1/2)^1.5 ln 2.
    CategoryCase('mal_alpha', dict(type='MatchabilityAwareLoss', alpha=0.5),
                 [[0.0, 0.0]], [[0.6, 0.0]], [[LN2, 0.5 * 0.5 ** 1.5 * LN2]],
                 grad=[[0.5 - 0.6 ** 1.5, 0.5 * 0.5 ** 2.5]]),
    # DFL over n + 1 = 3 bins, logits [0, ln 2, 0]: S = [1/4, 1/2, 1/4].
    # y = 0.5: 0.5 ln 4 + 0.5 ln 2 = 1.5 ln 2; y = 1.25: 0.75 ln 2 + 0.25 ln 4 =
    # 1.25 ln 2; y = 2 = n (the last bin): ln 4 = 2 ln 2.
    CategoryCase('dfl', dict(type='DistributionFocalLoss'),
                 [[0.0, LN2, 0.0]] * 3, [0.5, 1.25, 2.0],
                 [1.5 * LN2, 1.25 * LN2, 2 * LN2]),
    # GHM-C, C = 1, 10 bins. x = [0, 0, 0, 100], t = [1, 0, 1, 1]:
    # g = [1/2, 1/2, 1/2, 0]: bin 5 holds 3, bin 0 holds 1, n = 2 bins, N = 4:
    # weights 4 / (2 * 3) = 2/3 and 4 / (2 * 1) = 2; BCE = [ln 2, ln 2, ln 2, ~0];
    # 'mean' = sum / N = 2 ln 2 / 4.
    CategoryCase('ghmc', dict(type='GHMC'), [[0.0], [0.0], [0.0], [100.0]],
                 [0, 1, 0, 0],
                 [[2 / 3 * LN2], [2 / 3 * LN2], [2 / 3 * LN2], [2 * math.log1p(math.exp(-100))]]),
]
