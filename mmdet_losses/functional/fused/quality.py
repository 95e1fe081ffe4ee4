r"""Fused Quality Focal Loss, Varifocal Loss and Matchability-Aware Loss on the fused
binary engine (:mod:`.binary`); the plain autograd references are
:func:`~mmdet_losses.functional.category.quality.quality_focal_loss`,
:func:`~mmdet_losses.functional.category.quality.varifocal_loss` and
:func:`~mmdet_losses.functional.category.quality.matchability_aware_loss`.

With ``p = sigmoid(x)``, ``d = p - t``, ``BCE = (1 - t) x + softplus(-x)`` and
``dBCE/dx = p - t``, ``dp/dx = p (1 - p)``:

.. math::
    QFL = |d|^{\beta}\, \mathrm{BCE}, \quad
    \frac{\partial QFL}{\partial x} = |d|^{\beta} d
        + \beta\, \mathrm{sign}(d)\, |d|^{\beta - 1} p (1 - p)\, \mathrm{BCE}

.. math::
    VFL = \begin{cases} w\, \mathrm{BCE} & t > 0 \\
                         \alpha\, d^{\gamma}\, \mathrm{BCE} & t \le 0 \end{cases},
    \quad
    \frac{\partial VFL}{\partial x} = \begin{cases} w\, d & t > 0 \\
        \alpha\, d^{\gamma} \big(d + \gamma \frac{p (1 - p)}{d} \mathrm{BCE}\big)
        & t \le 0 \end{cases}

with ``w = t`` (``iou_weighted``) or 1. For ``t = 0`` (every negative) ``d = p`` and
``p (1 - p) / d = 1 - p``, so no division is needed; for ``t <= 0``, ``d >= p`` and the
ratio is at most ``1 - p``: finite everywhere.

.. math::
    MAL = \begin{cases} \mathrm{BCE}(x, q^{\gamma}) & y = 1 \\
                         a\, \bar p^{\gamma}\, \mathrm{BCE}(x, 0) & y = 0 \end{cases},
    \quad
    \frac{\partial MAL}{\partial x} = \begin{cases} p - q^{\gamma} & y = 1 \\
        a\, \bar p^{\gamma} p & y = 0 \end{cases}

with ``a = alpha`` (1 for ``None``) and ``\bar p`` the detached score (a weight, as in
DEIM's code). With labels, the positives are the label columns, whatever their IoU ``q``
(a matched query of IoU 0 keeps target 0 and weight 1); with a dense target they are
the elements ``> 0``.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..dtypes import tiny
from .binary import (Target, binary_logit_terms, fused_binary_sum, register_terms,
                     runs_compiled)

__all__ = ['matchability_aware_loss_sum', 'quality_focal_loss_sum',
           'varifocal_loss_sum']


def _abs_power(value: Tensor, power: float) -> Tensor:
    if power == 2:
        return value * value
    if power == 1:
        return value.abs()
    return value.abs().clamp(min=tiny(value)).pow(power) if power else \
        torch.ones_like(value)


def qfl_terms(x: Tensor, t: Target, hyper: Tuple[float], need_loss: bool,
              need_grad: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Element-wise QFL and/or its derivative; ``hyper = (beta,)``."""
    beta, = hyper
    p, p_neg, bce = binary_logit_terms(x, t)
    d = p - t if not (isinstance(t, float) and t == 0) else p
    modulator = _abs_power(d, beta)
    loss = grad = None
    if need_loss:
        loss = modulator * bce
    if need_grad:
        if beta == 2:
            grad = d * (d * d + 2 * p * p_neg * bce)
        elif beta == 0:
            grad = d
        else:
            slope = torch.sign(d) * d.abs().clamp(min=tiny(x)).pow(beta - 1)
            grad = modulator * d + beta * slope * p * p_neg * bce
    return loss, grad


def vfl_terms(x: Tensor, t: Target, hyper: Tuple[float, float, bool],
              need_loss: bool,
              need_grad: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Element-wise VFL and/or its derivative; ``hyper = (alpha, gamma,
    iou_weighted)``."""
    alpha, gamma, iou_weighted = hyper
    p, p_neg, bce = binary_logit_terms(x, t)
    if isinstance(t, float) and t == 0:
        d, ratio = p, p_neg
    else:
        d = p - t
        ratio = p * p_neg / d.clamp(min=tiny(x))
    negative_factor = alpha * _abs_power(d, gamma)
    if isinstance(t, float):
        positive = t > 0
        positive_factor = t if iou_weighted else 1.0
    else:
        positive = t > 0
        positive_factor = t if iou_weighted else torch.ones_like(t)
    loss = grad = None
    if need_loss:
        loss_negative = negative_factor * bce
        if isinstance(positive, bool):
            loss = positive_factor * bce if positive else loss_negative
        else:
            loss = torch.where(positive, positive_factor * bce, loss_negative)
    if need_grad:
        grad_negative = negative_factor * (d + gamma * ratio * bce)
        if isinstance(positive, bool):
            grad = positive_factor * d if positive else grad_negative
        else:
            grad = torch.where(positive, positive_factor * d, grad_negative)
    return loss, grad


def mal_terms(x: Tensor, t: Target, hyper: Tuple[float, float, bool],
              need_loss: bool,
              need_grad: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Element-wise MAL and/or its derivative; ``hyper = (gamma, alpha,
    rows_positive)``. A number ``t`` is a negative target; a tensor ``t`` holds the
    IoU ``q`` of positives only (``rows_positive``: the label columns, see
    :func:`matchability_aware_loss_sum`) or a dense target, positive where ``> 0``."""
    gamma, alpha, rows_positive = hyper
    if isinstance(t, float):
        positive, soft = False, 0.0
    else:
        q = t.clamp(min=0.0)
        soft = q.pow(gamma) if gamma else torch.ones_like(q)
        positive = True if rows_positive else t > 0
        if not rows_positive:
            soft = torch.where(positive, soft, torch.zeros_like(soft))
    p, p_neg, bce = binary_logit_terms(x, soft)
    negative_weight = alpha * _abs_power(p, gamma)

    def by_kind(as_positive: Tensor, as_negative: Tensor) -> Tensor:
        if positive is True:
            return as_positive
        if positive is False:
            return as_negative
        return torch.where(positive, as_positive, as_negative)
    loss = by_kind(bce, negative_weight * bce) if need_loss else None
    grad = by_kind(p - soft, negative_weight * p) if need_grad else None
    return loss, grad


register_terms('qfl', qfl_terms)
register_terms('vfl', vfl_terms)
register_terms('mal', mal_terms)


def quality_focal_loss_sum(pred: Tensor, target: Tensor,
                           weight: Optional[Tensor] = None,
                           beta: float = 2.0,
                           scores: Optional[Tensor] = None) -> Tensor:
    """``sum(weight * quality_focal_loss(pred, t))``, fused.

    Args:
        pred: ``(N, C)`` logits.
        target: ``(N, C)`` float soft targets, or ``(N,)`` integer labels (``C`` =
            background) with ``scores``.
        weight: optional weights broadcastable to ``(N, C)``, without gradient.
        beta: modulating power.
        scores: ``(N,)`` target of each row's label column (the IoU quality).

    Returns:
        scalar (float32 for half-precision ``pred``).
    """
    hyper = (float(beta), )
    if target.is_floating_point():
        return fused_binary_sum('qfl', pred, target, weight, hyper)
    return fused_binary_sum('qfl', pred, target, weight, hyper, 0.0, scores.detach())


def varifocal_loss_sum(pred: Tensor, target: Tensor,
                       weight: Optional[Tensor] = None,
                       alpha: float = 0.75, gamma: float = 2.0,
                       iou_weighted: bool = True,
                       scores: Optional[Tensor] = None) -> Tensor:
    """``sum(weight * varifocal_loss(pred, t))``, fused; arguments as
    :func:`quality_focal_loss_sum`."""
    hyper = (float(alpha), float(gamma), bool(iou_weighted))
    if target.is_floating_point():
        return fused_binary_sum('vfl', pred, target, weight, hyper)
    return fused_binary_sum('vfl', pred, target, weight, hyper, 0.0, scores.detach())


def mal_fused_pays(device_type: str) -> bool:
    """Whether MAL's fused kernels run compiled on ``device_type``: compiled, they
    are faster than the plain autograd form and use less memory; eager, slower and
    more (``benchmarks/README.md``, MAL)."""
    return runs_compiled('mal', device_type)


def matchability_aware_loss_sum(pred: Tensor, target: Tensor,
                                weight: Optional[Tensor] = None,
                                gamma: float = 1.5, alpha: Optional[float] = None,
                                scores: Optional[Tensor] = None) -> Tensor:
    """``sum(weight * matchability_aware_loss(pred, t))``, fused; arguments as
    :func:`quality_focal_loss_sum` (``alpha`` ``None`` is 1). With labels, every
    label column is a positive, of target ``scores ** gamma`` (0 for a match of IoU
    0); with a dense ``(N, C)`` target, the elements ``> 0``. Eager, it is slower
    than the plain form (:func:`mal_fused_pays`)."""
    alpha = 1.0 if alpha is None else float(alpha)
    if target.is_floating_point():
        return fused_binary_sum('mal', pred, target, weight,
                                (float(gamma), alpha, False))
    return fused_binary_sum('mal', pred, target, weight, (float(gamma), alpha, True),
                            0.0, scores.detach())
