"""Registered GHM-C loss (Li, Liu and Wang, arXiv 1811.05181), MMDetection's name and
arguments, vectorised (see :mod:`mmdet_losses.functional.ghmc`)."""
from typing import Optional

import torch
from torch import Tensor

from ..functional.category import (binary_targets, check_labels,
                                   split_binary_target)
from ..functional.classification import binary_cross_entropy
from ..functional.reduction import align_weight, weight_reduce_loss
from ..functional.ghmc import ghm_edges, ghm_weights
from ..functional.validation import check_number
from ..registry import MODELS
from .base import BaseLoss


@MODELS.register_module()
class GHMC(BaseLoss):
    """Gradient Harmonizing Mechanism classification loss: BCE weighted by the
    inverse density of its gradient norm ``g = |sigmoid(x) - t|``.

    ``pred`` ``(N, C)`` logits; ``target`` ``(N,)`` labels (``C`` = background) or
    ``(N, C)`` binary float targets; ``weight`` (MMDetection's ``label_weight``)
    marks the valid elements (``> 0``) and is not otherwise a factor, as in the paper
    and MMDetection. The loss is normalised by the number of valid elements ``N``
    itself (``L = sum_i beta_i BCE_i / N``): ``avg_factor`` from a head is accepted
    and not used. ``'none'`` gives the weighted ``(N, C)`` loss.

    Args:
        bins: number of gradient-norm bins ``M`` (``>= 1``; paper: 30).
        momentum: of the per-bin counts' moving average, in ``[0, 1)``; 0 counts each
            batch alone. The counts are a buffer (``acc_sum``, in the state dict),
            updated in training mode only (an evaluation call uses the updated
            counts without storing them).
        use_sigmoid: must be ``True``.
        reduction, loss_weight: as every loss.
    """

    element_dims = None

    def __init__(self, bins: int = 10, momentum: float = 0.0, use_sigmoid: bool = True,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__(reduction, loss_weight)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValueError(f'bins must be an int >= 1, got {bins!r}')
        if not use_sigmoid:
            raise ValueError(f'GHMC is a sigmoid loss: use_sigmoid must be True, got '
                             f'{use_sigmoid!r}')
        self.bins = bins
        self.momentum = check_number('momentum', momentum, 0.0, 1.0, high_open=True)
        self.use_sigmoid = True
        self.register_buffer('edges', ghm_edges(bins), persistent=False)
        self.register_buffer('acc_sum', torch.zeros(bins))

    def loss_kwargs(self):
        return {'bins': self.bins, 'momentum': self.momentum}

    def weighted_loss(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                      reduction: str, avg_factor=None) -> Tensor:
        check = self.data_check_due(pred)
        target, _ = split_binary_target(pred, target, False, 'GHMC', check)
        if not target.is_floating_point():
            if check:
                check_labels(target, pred.shape[-1])
            target = binary_targets(target, pred.shape[-1], pred.dtype)
        valid = torch.ones_like(pred, dtype=torch.bool) if weight is None else \
            (align_weight(weight, pred) > 0).expand_as(pred)
        pred = torch.where(valid, pred, pred.new_zeros(()))
        g = (torch.sigmoid(pred.detach()) - target.to(pred.dtype)).abs()
        ghm, num_valid, new_acc = ghm_weights(g, valid, self.edges, self.acc_sum,
                                              self.momentum)
        if new_acc is not None and self.training:
            self.acc_sum.copy_(new_acc.to(self.acc_sum.dtype))
        loss = binary_cross_entropy(pred, target)
        if reduction == 'mean':
            return weight_reduce_loss(loss, ghm.to(loss.dtype), reduction, num_valid)
        return weight_reduce_loss(loss, ghm.to(loss.dtype), reduction)
