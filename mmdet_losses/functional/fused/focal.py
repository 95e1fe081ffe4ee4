r"""Fused sigmoid Focal Loss / binary cross-entropy on the fused binary engine
(:mod:`.binary`; the plain autograd reference is
:func:`~mmdet_losses.functional.category.focal.sigmoid_focal_loss`): a weighted sum in one pass with an
analytic backward.

Gradient, with ``p = sigmoid(x)``, ``q = p (1 - t) + (1 - p) t`` (the expected
``|T - p|`` for ``T ~ Bernoulli(t)``; ``1 - p_t`` for hard targets),
``BCE = (1 - t) x + softplus(-x)`` and ``a_t = alpha t + (1 - alpha)(1 - t)``:

.. math::
    \frac{\partial FL}{\partial x} = a_t\, q^{\gamma}
        \Big(\gamma (1 - 2t) \frac{p (1 - p)}{q} \mathrm{BCE} + p - t\Big)

where ``p (1 - p) / q <= 1`` for every ``t`` in ``[0, 1]``, so the gradient is finite
even where ``q`` underflows.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..dtypes import compute_dtype
from .binary import Target, binary_logit_terms, fused_binary_sum, register_terms

__all__ = ['sigmoid_focal_loss_sum']


def focal_terms(x: Tensor, t: Target, hyper: Tuple[float, Optional[float]],
                need_loss: bool,
                need_grad: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Element-wise focal loss and/or its derivative in ``x`` for targets ``t`` (a
    tensor or one number for all); ``hyper = (gamma, alpha)``."""
    gamma, alpha = hyper
    p, p_neg, bce = binary_logit_terms(x, t)
    if isinstance(t, float) and t in (0.0, 1.0):
        q = p if t == 0 else p_neg
        ratio = 1 - q  # p (1 - p) / q for a hard target, without the division
    else:
        q = p * (1 - t) + p_neg * t
        ratio = p * p_neg / q.clamp(min=torch.finfo(x.dtype).tiny)
    modulator = None
    if gamma == 2:
        modulator = q * q
    elif gamma != 0:
        modulator = q.clamp(min=torch.finfo(x.dtype).tiny).pow(gamma)
    alpha_t = alpha * t + (1 - alpha) * (1 - t) if alpha is not None else None
    loss = grad = None
    if need_loss:
        loss = bce if modulator is None else bce * modulator
        if alpha_t is not None:
            loss = loss * alpha_t
    if need_grad:
        grad = p - t
        if modulator is not None:
            grad = modulator * (gamma * (1 - 2 * t) * ratio * bce + grad)
        if alpha_t is not None:
            grad = grad * alpha_t
    return loss, grad


register_terms('focal', focal_terms)


def sigmoid_focal_loss_sum(pred: Tensor,
                           target: Tensor,
                           weight: Optional[Tensor] = None,
                           gamma: float = 2.0,
                           alpha: Optional[float] = 0.25,
                           label_smoothing: float = 0.0) -> Tensor:
    """``sum(weight * sigmoid_focal_loss(pred, target))``, fused.

    Args:
        pred: ``(N, C)`` logits.
        target: ``(N,)`` integer labels in ``[0, C]`` (``C`` = background) or
            ``(N, C)`` float targets in ``[0, 1]``.
        weight: optional weights broadcastable to ``(N, C)``, without gradient;
            where it is 0 the logit does not matter (0 to value and gradient).
        gamma: focusing parameter (0 with ``alpha=None`` gives BCE).
        alpha: positive-class weight, or ``None``.
        label_smoothing: targets become ``t (1 - s) + s / 2``.

    Returns:
        scalar, float32 for half-precision ``pred``; its gradient flows to ``pred``
        only.
    """
    hyper = (float(gamma), None if alpha is None else float(alpha))
    smoothing = float(label_smoothing)
    if target.is_floating_point():
        if smoothing:
            target = target.to(compute_dtype(pred)) * (1 - smoothing) + 0.5 * smoothing
        return fused_binary_sum('focal', pred, target, weight, hyper)
    return fused_binary_sum('focal', pred, target, weight, hyper,
                            negative_t=0.5 * smoothing,
                            positive_t=1 - 0.5 * smoothing)
