"""Fused sigmoid Focal Loss / binary cross-entropy: weighted sum in one pass, with an
analytic backward.

RetinaNet scores about 200,000 anchors x 80 classes per batch. The plain autograd
form (:func:`~mmdet_losses.functional.classification.sigmoid_focal_loss`) keeps half a
dozen ``(N, C)`` intermediates and runs as many kernels each way; here the forward
is one reduction that never stores the element-wise loss, and the backward is one
element-wise pass that recomputes what it needs from the logits. Both are compiled
(:mod:`~mmdet_losses.functional.compile`) where a compiler is available.

Gradient, with ``p = sigmoid(x)``, ``q = 1 - p_t = p (1 - t) + (1 - p) t``,
``BCE = (1 - t) x + softplus(-x)`` and ``a_t = alpha t + (1 - alpha)(1 - t)``:

.. math::
    \\frac{\\partial FL}{\\partial x} = a_t\\, q^{\\gamma}
        \\Big(\\gamma (1 - 2t) \\frac{p (1 - p)}{q} \\mathrm{BCE} + p - t\\Big)

where ``p (1 - p) / q <= 1`` for every ``t`` in ``[0, 1]``, so the gradient is finite
even where ``q`` underflows.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .compile import maybe_compiled


def _targets(target: Tensor, num_classes: int, smoothing: float,
             dtype) -> Tensor:
    if target.is_floating_point():
        t = target.to(dtype)
    else:  # integer labels, C meaning background: one-hot without materialising it
        classes = torch.arange(num_classes, device=target.device)
        t = (target.unsqueeze(1) == classes).to(dtype)
    if smoothing:
        t = t * (1 - smoothing) + 0.5 * smoothing
    return t


def _focal_terms(x: Tensor, target: Tensor, gamma: float, alpha: Optional[float],
                 smoothing: float, need_loss: bool,
                 need_grad: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Element-wise loss and/or its derivative in ``x`` (half precision upcast)."""
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    t = _targets(target, x.shape[-1], smoothing, x.dtype)
    # One exp serves sigmoid(x), sigmoid(-x) and softplus(-x): the kernel is bound by
    # transcendental functions, not by memory.
    e = torch.exp(-x.abs())
    r = 1 / (1 + e)
    positive = x >= 0
    p = torch.where(positive, r, e * r)
    p_neg = torch.where(positive, e * r, r)  # 1 - p without cancellation
    bce = (1 - t) * x + (-x).clamp(min=0) + torch.log1p(e)
    q = (p * (1 - t) + p_neg * t).clamp(min=torch.finfo(x.dtype).tiny)
    modulator = q.pow(gamma) if gamma != 0 else None
    alpha_t = alpha * t + (1 - alpha) * (1 - t) if alpha is not None else None
    loss = grad = None
    if need_loss:
        loss = bce if modulator is None else bce * modulator
        if alpha_t is not None:
            loss = loss * alpha_t
    if need_grad:
        grad = p - t
        if modulator is not None:
            grad = modulator * (gamma * (1 - 2 * t) * (p * p_neg / q) * bce + grad)
        if alpha_t is not None:
            grad = grad * alpha_t
    return loss, grad


@maybe_compiled
def _weighted_sum(x: Tensor, target: Tensor, weight: Optional[Tensor],
                  gamma: float, alpha: Optional[float], smoothing: float) -> Tensor:
    loss, _ = _focal_terms(x, target, gamma, alpha, smoothing, True, False)
    if weight is not None:
        loss = loss * weight
    return loss.sum()


@maybe_compiled
def _weighted_grad(x: Tensor, target: Tensor, weight: Optional[Tensor],
                   grad_out: Tensor, gamma: float, alpha: Optional[float],
                   smoothing: float) -> Tensor:
    _, grad = _focal_terms(x, target, gamma, alpha, smoothing, False, True)
    grad = grad * grad_out
    if weight is not None:
        grad = grad * weight
    return grad.to(x.dtype)


class _FusedFocalSum(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, target, weight, gamma, alpha, smoothing):
        ctx.save_for_backward(x, target, weight)
        ctx.hyper = (gamma, alpha, smoothing)
        return _weighted_sum(x, target, weight, gamma, alpha, smoothing)

    @staticmethod
    def backward(ctx, grad_out):
        x, target, weight = ctx.saved_tensors
        grad = _weighted_grad(x, target, weight, grad_out, *ctx.hyper)
        return grad, None, None, None, None, None


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
        weight: optional weights broadcastable to ``(N, C)``, without gradient.
        gamma: focusing parameter (0 with ``alpha=None`` gives BCE).
        alpha: positive-class weight, or ``None``.
        label_smoothing: targets become ``t (1 - s) + s / 2``.

    Returns:
        scalar, float32 for half-precision ``pred``; its gradient flows to ``pred``
        only.
    """
    return _FusedFocalSum.apply(pred, target, weight, float(gamma),
                                None if alpha is None else float(alpha),
                                float(label_smoothing))
