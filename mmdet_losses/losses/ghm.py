"""Registered Gradient Harmonizing Mechanism losses (Li, Liu and Wang, AAAI 2019,
arXiv 1811.05181), GHM-C and GHM-R, with MMDetection's names and arguments,
vectorised (:func:`mmdet_losses.functional.ghmc_loss`,
:func:`mmdet_losses.functional.ghmr_loss`). Both keep their running bin counts in the
buffer ``acc_sum``, updated in training mode."""
from typing import Optional

import torch
from torch import Tensor

from ..functional.category.ghmc import ghmc_loss
from ..functional.category.labels import (binary_targets, check_labels,
                                          split_binary_target)
from ..functional.location.ghmr import ghmr_loss
from ..functional.reduction import AVG_EPS, align_weight, reduce_sum, weight_reduce_loss
from ..functional.validation import check_int, check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
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

    spec = LossSpec(
        kind='category', paper='Li, Liu and Wang, AAAI 2019, arXiv 1811.05181',
        page='ghmc', use='one-stage heads, down-weighting easy examples and outliers',
        namesake='same', presets=(
            Preset('ghmc', dict(bins=30, momentum=0.75, use_sigmoid=True),
                   'GHM-C (Li, Liu and Wang, arXiv:1811.05181): BCE weighted by the '
                   "inverse density of its gradient norm; the paper's RetinaNet "
                   'setting: 30 bins, momentum 0.75.'), ))

    element_dims = None

    def __init__(self, bins: int = 10, momentum: float = 0.0, use_sigmoid: bool = True,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__(reduction, loss_weight)
        bins = check_int('bins', bins, low=1)
        if not use_sigmoid:
            raise ValueError(f'GHMC is a sigmoid loss: use_sigmoid must be True, got '
                             f'{use_sigmoid!r}')
        self.bins = bins
        self.momentum = check_number('momentum', momentum, 0.0, 1.0, high_open=True)
        self.use_sigmoid = True
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
        loss, num_valid, new_acc = ghmc_loss(pred, target, weight, self.bins,
                                             self.acc_sum, self.momentum)
        if new_acc is not None and self.training:
            self.acc_sum.copy_(new_acc.to(self.acc_sum.dtype))
        if reduction == 'mean':
            return weight_reduce_loss(loss, None, reduction, num_valid)
        return weight_reduce_loss(loss, None, reduction)


@MODELS.register_module()
class GHMR(BaseLoss):
    """GHM-R, the gradient harmonized ASL1 loss (Li et al., AAAI 2019, arXiv
    1811.05181), see :func:`~mmdet_losses.functional.ghmr_loss`; MMDetection's
    ``GHMR`` in value and gradient, and finite where that one overflows (float16
    errors above 256, whose square is inf, times a zero weight).

    ``weight`` (MMDetection's ``label_weight``) marks the valid elements (``> 0``)
    and ``'mean'`` divides by its sum (at least 1), as MMDetection does; the
    harmonising weights are normalised by that sum, so a head's ``avg_factor`` is
    accepted and not used (MMDetection ignores it too). ``'none'`` gives the
    harmonised element-wise loss. With ``momentum > 0`` the running bin counts are
    the buffer ``acc_sum`` (MMDetection's name: in checkpoints, broadcast by DDP),
    updated in training mode; an evaluation call uses the updated counts without
    storing them.

    Args:
        mu: ``> 0``, the ASL1 smoothing (paper: 0.02).
        bins: integer ``>= 1``, bins of the gradient norm (paper: 10).
        momentum: in ``[0, 1)``; 0 counts each batch alone (MMDetection's default;
            its GHM RetinaNet config uses 0.7).
        reduction, loss_weight: as every loss.
    """

    spec = LossSpec(
        kind='coordinate', paper='Li, Liu and Wang, AAAI 2019, arXiv 1811.05181',
        page='ghmr', use='encoded deltas, weighted by gradient density (with GHM-C)',
        namesake='same', presets=(
            # MMDetection's GHM RetinaNet weight: GHM-R averages over all coordinates
            Preset('ghmr', dict(mu=0.02, bins=10, momentum=0.7),
                   'GHM-R (Li et al., arXiv:1811.05181): ASL1 with mu=0.02, weighted '
                   'by the inverse density of its gradient norm over 10 bins, '
                   "momentum 0.7: the values of MMDetection's GHM RetinaNet.",
                   loss_weight=10.0), ))

    def __init__(self, mu: float = 0.02, bins: int = 10, momentum: float = 0.0,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.mu = check_number('mu', mu, low=0.0, low_open=True)
        self.bins = check_int('bins', bins, low=1)
        self.momentum = check_number('momentum', momentum, 0.0, 1.0, high_open=True)
        self.register_buffer('acc_sum', torch.zeros(bins))

    def loss_kwargs(self):
        return {'mu': self.mu, 'bins': self.bins, 'momentum': self.momentum}

    def weighted_loss(self, pred, target, weight, reduction, avg_factor, **kwargs):
        if weight is not None:
            weight = align_weight(weight, pred)
        loss, total_weight, new_acc = ghmr_loss(
            pred, target, weight, mu=self.mu, bins=self.bins, acc_sum=self.acc_sum,
            momentum=self.momentum)
        if new_acc is not None and self.training:
            self.acc_sum.copy_(new_acc.to(self.acc_sum.dtype))
        if reduction == 'none':
            return loss
        if reduction == 'sum':
            return reduce_sum(loss.sum(), loss.numel(), 'sum', avg_factor)
        return loss.sum() / (total_weight + AVG_EPS)
