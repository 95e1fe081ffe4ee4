r"""Gradient Harmonizing Mechanism for classification, GHM-C (Li, Liu and Wang, AAAI
2019, arXiv 1811.05181), vectorised: no loop over bins, no host synchronisation.

The gradient norm of BCE with respect to the logit is ``g = |sigmoid(x) - t|``. The
paper splits ``[0, 1]`` into ``M`` bins of width ``1/M`` (``bins``), counts the valid
elements in each (``R_j``, optionally as an exponential moving average with
``momentum``) and weighs every element by ``beta_i = N / GD(g_i)``, the gradient
density ``GD = R_j M`` being estimated per bin; MMDetection's form, reproduced here,
weighs by ``N / R_j`` and divides by the number of non-empty bins ``n``
(:mod:`~mmdet_losses.functional.gradient_density`):

.. math::
    L_{GHM-C} = \frac{1}{N} \sum_i \frac{N}{n\, R_{j(i)}}\, \mathrm{BCE}(x_i, t_i)

with ``N`` the number of valid elements. The weights are constants for the gradient.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..gradient_density import ghm_edges, ghm_weights
from ..reduction import align_weight
from .cross_entropy import binary_cross_entropy

__all__ = ['ghmc_loss']


def ghmc_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
              bins: int = 10, acc_sum: Optional[Tensor] = None,
              momentum: float = 0.0) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """GHM-C: the harmonised element-wise BCE and its normaliser.

    Args:
        pred: ``(N, C)`` logits.
        target: ``(N, C)`` binary float targets.
        weight: ``None`` or weights that fit ``pred`` (as
            :func:`~mmdet_losses.functional.reduction.align_weight` takes them); as
            in the paper and MMDetection, a weight marks its element valid
            (``> 0``) and is not otherwise a factor.
        bins: ``M >= 1`` (paper: 30).
        acc_sum: ``(M,)`` running counts for ``momentum > 0``.
        momentum: ``0`` (this batch's counts) or in ``(0, 1)``.

    Returns:
        ``(loss, num_valid, new_acc_sum)``: ``loss`` ``(N, C)`` is
        ``beta_i BCE_i`` (0 for invalid elements, whatever their logits), in
        ``pred``'s dtype; ``num_valid`` is ``N`` (at least 1), the normaliser of
        ``'mean'``; ``new_acc_sum`` ``None`` without momentum.
    """
    valid = torch.ones_like(pred, dtype=torch.bool) if weight is None else \
        (align_weight(weight, pred) > 0).expand_as(pred)
    pred = torch.where(valid, pred, pred.new_zeros(()))
    g = (torch.sigmoid(pred.detach()) - target.to(pred.dtype)).abs()
    harmonic, num_valid, new_acc = ghm_weights(g, valid, ghm_edges(bins, pred.device),
                                               acc_sum, momentum)
    loss = binary_cross_entropy(pred, target)
    return loss * harmonic.to(loss.dtype), num_valid, new_acc
