"""Fused sigmoid Focal Loss / binary cross-entropy: weighted sum in one pass, with an
analytic backward.

RetinaNet scores about 200,000 anchors x 80 classes per batch. The plain autograd
form (:func:`~mmdet_losses.functional.classification.sigmoid_focal_loss`) keeps half a
dozen ``(N, C)`` intermediates and runs as many kernels each way; here the forward
is one reduction that never stores the element-wise loss, and the backward is one
element-wise pass that recomputes what it needs from the logits. Both are compiled
(:mod:`~mmdet_losses.functional.compile`) where a compiler is available.

With integer labels the ``(N, C)`` pass treats every logit as a negative (a constant
target, which vectorises fully), and the ``N`` positive logits are corrected by a
gather (forward: add their positive loss, take away their negative one) and a scatter
(backward: overwrite their gradient): the one-hot target never exists.

Gradient, with ``p = sigmoid(x)``, ``q = 1 - p_t = p (1 - t) + (1 - p) t``,
``BCE = (1 - t) x + softplus(-x)`` and ``a_t = alpha t + (1 - alpha)(1 - t)``:

.. math::
    \\frac{\\partial FL}{\\partial x} = a_t\\, q^{\\gamma}
        \\Big(\\gamma (1 - 2t) \\frac{p (1 - p)}{q} \\mathrm{BCE} + p - t\\Big)

where ``p (1 - p) / q <= 1`` for every ``t`` in ``[0, 1]``, so the gradient is finite
even where ``q`` underflows.
"""
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from .compile import maybe_compiled

Target = Union[float, Tensor]


def _upcast(x: Tensor) -> Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _focal_terms(x: Tensor, t: Target, gamma: float, alpha: Optional[float],
                 need_loss: bool,
                 need_grad: bool) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Element-wise loss and/or its derivative in ``x`` for targets ``t`` (a tensor
    or one number for all)."""
    # One exp serves sigmoid(x), sigmoid(-x) and softplus(-x).
    e = torch.exp(-x.abs())
    r = 1 / (1 + e)
    positive = x >= 0
    p = torch.where(positive, r, e * r)
    p_neg = torch.where(positive, e * r, r)  # 1 - p without cancellation
    bce = (1 - t) * x + (-x).clamp(min=0) + torch.log1p(e)
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


def _weighted(value: Tensor, weight: Optional[Tensor]) -> Tensor:
    return value if weight is None else value * weight


def _positives(x: Tensor, labels: Tensor, weight: Optional[Tensor]):
    """Column of each label, the positive mask, the positive logits and weights."""
    num_classes = x.shape[-1]
    column = labels.clamp(max=num_classes - 1).long().unsqueeze(1)
    is_positive = (labels < num_classes).unsqueeze(1)
    weight_at = None if weight is None else \
        weight.expand_as(x).gather(1, column)
    return column, is_positive, x.gather(1, column), weight_at


def _label_targets(smoothing: float) -> Tuple[float, float]:
    return 0.5 * smoothing, 1 - 0.5 * smoothing


@maybe_compiled
def _weighted_sum(x: Tensor, t: Target, weight: Optional[Tensor], gamma: float,
                  alpha: Optional[float]) -> Tensor:
    """``sum(weight * FL(x, t))`` over ``(N, C)``, never storing the loss."""
    loss, _ = _focal_terms(_upcast(x), t, gamma, alpha, True, False)
    return _weighted(loss, weight).sum()


@maybe_compiled
def _weighted_grad(x: Tensor, t: Target, weight: Optional[Tensor],
                   grad_out: Tensor, gamma: float, alpha: Optional[float]) -> Tensor:
    """``grad_out * weight * dFL(x, t)/dx`` over ``(N, C)``, in ``x``'s dtype."""
    _, grad = _focal_terms(_upcast(x), t, gamma, alpha, False, True)
    return (_weighted(grad, weight) * grad_out).to(x.dtype)


def _soft_targets(target: Tensor, x: Tensor, smoothing: float) -> Tensor:
    return target.to(_upcast(x).dtype) * (1 - smoothing) + 0.5 * smoothing


class _FusedFocalSum(torch.autograd.Function):
    """Float targets: one pass each way. Integer labels: a pass with the negative
    target everywhere, then the ``N`` positives corrected (see module doc)."""

    @staticmethod
    def forward(ctx, x, target, weight, gamma, alpha, smoothing):
        ctx.save_for_backward(x, target, weight)
        ctx.hyper = (gamma, alpha, smoothing)
        if target.is_floating_point():
            return _weighted_sum(x, _soft_targets(target, x, smoothing), weight,
                                 gamma, alpha)
        negative_t, positive_t = _label_targets(smoothing)
        total = _weighted_sum(x, negative_t, weight, gamma, alpha)
        _, is_positive, x_at, weight_at = _positives(x, target, weight)
        x_at = _upcast(x_at)
        as_positive, _ = _focal_terms(x_at, positive_t, gamma, alpha, True, False)
        as_negative, _ = _focal_terms(x_at, negative_t, gamma, alpha, True, False)
        correction = _weighted((as_positive - as_negative) * is_positive, weight_at)
        return total + correction.sum()

    @staticmethod
    def backward(ctx, grad_out):
        x, target, weight = ctx.saved_tensors
        gamma, alpha, smoothing = ctx.hyper
        if target.is_floating_point():
            return _weighted_grad(x, _soft_targets(target, x, smoothing), weight,
                                  grad_out, gamma, alpha), None, None, None, None, None
        negative_t, positive_t = _label_targets(smoothing)
        grad = _weighted_grad(x, negative_t, weight, grad_out, gamma, alpha)
        column, is_positive, x_at, weight_at = _positives(x, target, weight)
        _, as_positive = _focal_terms(_upcast(x_at), positive_t, gamma, alpha, False,
                                      True)
        # overwrite (not add a difference): the positives' gradient stays exact
        at_column = torch.where(is_positive,
                                _weighted(as_positive, weight_at) * grad_out,
                                grad.gather(1, column))
        grad.scatter_(1, column, at_column.to(grad.dtype))
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
