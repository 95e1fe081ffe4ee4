"""Gradient Harmonizing Mechanism for regression, GHM-R (Li, Liu and Wang, AAAI 2019,
arXiv 1811.05181), vectorised like GHM-C (the bin counting of both is
:mod:`~mmdet_losses.functional.gradient_density`): no loop over bins, no host
synchronisation.

GHM-R weights the Authentic Smooth L1 loss of every element by the inverse density of
its gradient norm ``g = |d| / sqrt(d^2 + mu^2)`` in the batch, so that neither the many
easy elements (small errors) nor the few outliers dominate.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..gradient_density import ghm_edges, ghm_weights
from .coordinate import upcast_coordinates

__all__ = ['asl1_loss', 'ghmr_loss']


def asl1_loss(pred: Tensor, target: Tensor, mu: float = 0.02) -> Tensor:
    r"""Element-wise Authentic Smooth L1 loss of GHM-R.

    .. math:: ASL_1(d) = \sqrt{d^2 + \mu^2} - \mu, \quad d = x - y

    Close to ``d^2 / (2 mu)`` for small ``|d|`` and to ``|d| - mu`` for large ones,
    with a gradient norm ``|d| / sqrt(d^2 + mu^2)`` in ``[0, 1)``. Computed as
    ``hypot(d, mu) - mu`` in float32 (float64 for float64 input), so ``d^2`` cannot
    overflow. Returns ``(*)`` in that dtype.
    """
    wide_pred, wide_target = upcast_coordinates(pred, target)
    diff = wide_pred - wide_target
    return torch.hypot(diff, torch.full_like(diff, mu)) - mu


def ghmr_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
              mu: float = 0.02, bins: int = 10, acc_sum: Optional[Tensor] = None,
              momentum: float = 0.0) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    r"""GHM-R: the harmonised element-wise ASL1 loss and its normaliser.

    .. math::
        L = \frac{1}{N} \sum_i \beta_i\, ASL_1(d_i), \quad
        \beta_i = \frac{N}{n\, R_{j(i)}}, \quad
        g_i = \Big|\frac{d_i}{\sqrt{d_i^2 + \mu^2}}\Big|^{*}

    ``R_j``: the number of valid elements (``weight > 0``) whose ``g`` falls in bin
    ``j`` (``[j / M, (j + 1) / M)``, ``M = bins``), or with ``momentum > 0`` its
    running average ``S_j <- momentum S_j + (1 - momentum) R_j`` (bins empty in this
    batch keep theirs); ``n``: the number of non-empty bins; ``N``: the sum of the
    weights, at least 1. This is MMDetection's ``GHMR``: the paper's density
    ``GD = R_j M`` (unit-region approximation) uses all ``M`` bins where MMDetection
    uses the ``n`` non-empty ones, a factor ``M / n`` on the loss when bins are
    empty. ``g`` and ``beta`` are constants for the gradient. As in the paper and
    MMDetection, a weight marks its element valid (``> 0``) and enters ``N``; it is
    not otherwise a factor.

    Args:
        pred, target: ``(*)`` predictions and targets (deltas or distances).
        weight: ``None`` or weights broadcastable to ``pred``.
        mu: ``> 0``, the ASL1 smoothing (paper: 0.02).
        bins: ``M >= 1`` (paper: 10).
        acc_sum: ``(M,)`` running counts ``S`` for ``momentum > 0``.
        momentum: ``0`` (this batch's counts) or in ``(0, 1)``.

    Returns:
        ``(loss, total_weight, new_acc_sum)``: ``loss`` ``(*)`` is
        ``beta_i ASL1_i`` (0 for invalid elements) in float32 (float64 for float64
        input); ``total_weight`` is ``N``; ``new_acc_sum`` ``None`` without momentum.
    """
    loss = asl1_loss(pred, target, mu)
    with torch.no_grad():
        if weight is None:
            valid = torch.ones_like(loss, dtype=torch.bool)
        else:
            weight = torch.broadcast_to(weight.to(loss.dtype), loss.shape)
            valid = weight > 0
        diff = pred.detach().to(loss.dtype) - target.detach().to(loss.dtype)
        grad_norm = (diff / torch.hypot(diff, torch.full_like(diff, mu))).abs()
        harmonic, num_valid, new_acc = ghm_weights(
            grad_norm, valid, ghm_edges(bins, loss.device), acc_sum, momentum)
        total_weight = num_valid if weight is None else weight.sum().clamp(min=1.0)
        # ghm_weights normalises by the number of valid elements; GHM-R by N
        harmonic = harmonic.to(loss.dtype) * (total_weight / num_valid)
    return loss * harmonic, total_weight, new_acc
