"""Quality-aware category losses, element-wise (the plain autograd references of the
fused kernels in ``fused/quality.py``).

* Quality Focal Loss: Li et al., "Generalized Focal Loss", NeurIPS 2020, arXiv
  2006.04388 (GFL).
* Varifocal Loss: Zhang et al., "VarifocalNet", CVPR 2021, arXiv 2008.13367.
* Matchability-Aware Loss: Huang et al., "DEIM: DETR with Improved Matching for Fast
  Convergence", CVPR 2025, arXiv 2412.04234.

Targets ``t`` are soft scores in ``[0, 1]``: the IoU of the predicted box with its
ground truth at the positive's class, 0 elsewhere. Half-precision inputs are computed
in float32 and the result is cast back.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..dtypes import tiny, upcast

__all__ = ['quality_focal_loss', 'varifocal_loss', 'matchability_aware_loss']


def _probability_and_bce(x: Tensor, t: Tensor, activated: bool):
    if activated:
        return x, F.binary_cross_entropy(x, t, reduction='none')
    return torch.sigmoid(x), F.binary_cross_entropy_with_logits(x, t, reduction='none')


def quality_focal_loss(pred: Tensor, target: Tensor, beta: float = 2.0,
                       activated: bool = False) -> Tensor:
    r"""Quality Focal Loss (GFL, eq. 5), element-wise.

    .. math::
        QFL(\sigma, y) = -|y - \sigma|^{\beta}
            \big((1 - y) \log(1 - \sigma) + y \log \sigma\big)

    ``beta = 0`` is BCE; at a hard target ``y`` in ``{0, 1}`` it is the focal loss
    without ``alpha``. The modulating factor vanishes where ``sigma = y``, unlike the
    focal loss on soft targets (:func:`~.focal.sigmoid_focal_loss`).

    Args:
        pred: ``(N, C)`` logits (probabilities if ``activated``).
        target: ``(N, C)`` soft targets in ``[0, 1]``.
        beta: modulating power, ``>= 0`` (paper: 2).
        activated: ``pred`` already holds probabilities.

    Returns:
        ``(N, C)`` loss in ``pred``'s dtype (MMDetection's ``QualityFocalLoss`` sums
        it over classes; the registered module does too).

    Note:
        ``|y - sigma|`` is clamped at the smallest normal float before the power, so
        that ``beta < 1`` has a finite gradient at ``sigma = y``.
    """
    x = upcast(pred)
    t = target.to(x.dtype)
    p, bce = _probability_and_bce(x, t, activated)
    modulator = (p - t).abs()
    if beta != 1:
        modulator = modulator.clamp(min=tiny(x)).pow(beta)
    return (modulator * bce).to(pred.dtype)


def varifocal_loss(pred: Tensor, target: Tensor, alpha: float = 0.75,
                   gamma: float = 2.0, iou_weighted: bool = True) -> Tensor:
    r"""Varifocal Loss (VarifocalNet, eq. 2), element-wise.

    .. math::
        VFL(p, q) = \begin{cases}
            -q \big(q \log p + (1 - q) \log(1 - p)\big) & q > 0 \\
            -\alpha p^{\gamma} \log(1 - p) & q = 0
        \end{cases}

    written, as MMDetection does, with ``|p - q|^gamma`` in the second case (equal
    for ``q = 0``). ``iou_weighted=False`` weighs positives by 1 instead of ``q``.
    The positives' weight ``q`` is a target (no gradient); the negatives' ``p^gamma``
    is differentiated, as in the focal loss.

    Args:
        pred: ``(N, C)`` logits.
        target: ``(N, C)`` IoU-aware targets ``q`` in ``[0, 1]``.
        alpha: weight of the negatives, ``>= 0`` (paper: 0.75).
        gamma: power of the negatives' modulating factor, ``>= 0`` (paper: 2).
        iou_weighted: weigh the positives by ``q``.

    Returns:
        ``(N, C)`` loss in ``pred``'s dtype.
    """
    x = upcast(pred)
    t = target.to(x.dtype)
    p, bce = _probability_and_bce(x, t, False)
    positive = t > 0
    negative_factor = alpha * (p - t).abs().clamp(min=tiny(x)).pow(gamma)
    positive_factor = t if iou_weighted else torch.ones_like(t)
    return (bce * torch.where(positive, positive_factor, negative_factor)).to(pred.dtype)


def matchability_aware_loss(pred: Tensor, target: Tensor, gamma: float = 1.5,
                            alpha: Optional[float] = None,
                            positive: Optional[Tensor] = None) -> Tensor:
    r"""Matchability-Aware Loss (DEIM, eq. 6), element-wise.

    .. math::
        MAL(p, q, y) = \begin{cases}
            -q^{\gamma} \log p - (1 - q^{\gamma}) \log(1 - p) & y = 1 \\
            -\alpha\, p^{\gamma} \log(1 - p) & y = 0
        \end{cases}

    ``y = 1`` at a matched query's class (its positive element), ``q`` the IoU of
    its box with the ground truth. Unlike VFL, a positive's target is ``q^gamma``
    (raised towards 1 for ``gamma > 1`` at a low IoU) and its weight 1 (not
    ``q``), and a matched query of IoU 0 stays a positive (target 0, weight 1)
    where VFL takes it for a negative. The negatives' weight ``alpha p^gamma`` is a
    weight, not differentiated (``p`` detached, as the official code does); ``q``
    is a target, not differentiated either.

    Args:
        pred: ``(N, C)`` logits.
        target: ``(N, C)`` IoU targets ``q`` in ``[0, 1]`` (0 off the positives).
        gamma: the power of ``q`` and of the negatives' ``p``, ``>= 0`` (official
            code: 1.5).
        alpha: the negatives' weight, ``>= 0``; ``None`` is 1 (the official code's
            ``mal_alpha=None``).
        positive: ``(N, C)`` boolean mask of the positives (a matched query's class);
            ``None``: ``target > 0``, which counts a match of IoU 0 as a negative.

    Returns:
        ``(N, C)`` loss in ``pred``'s dtype.

    Note:
        The official code raises the dense target to ``gamma`` everywhere, which
        gives a target of 1 on every negative at ``gamma = 0``; here the target is
        ``q^gamma`` on the positives and 0 on the negatives for every ``gamma``, as
        the formula above says (the two agree for ``gamma > 0``).
    """
    x = upcast(pred)
    t = target.to(x.dtype).detach()
    y = t > 0 if positive is None else positive.to(torch.bool)
    soft = torch.where(y, t.clamp(min=0.0).pow(gamma), torch.zeros_like(t))
    p = torch.sigmoid(x.detach())
    negative_weight = p.pow(gamma) if alpha is None else alpha * p.pow(gamma)
    weight = torch.where(y, torch.ones_like(t), negative_weight)
    bce = F.binary_cross_entropy_with_logits(x, soft, reduction='none')
    return (weight * bce).to(pred.dtype)
