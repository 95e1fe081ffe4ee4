"""Registered coordinate-wise location losses: ``L1Loss``, ``L2Loss``,
``SmoothL1Loss``, ``BalancedL1Loss`` (compiled where a compiler is available, see
:mod:`mmdet_losses.functional.compile`) and ``GHMR``.

Like every registered loss they compute, weight and reduce in float32 (float64 for
float64 input) and return that dtype (:mod:`mmdet_losses.functional.dtypes`): a
float16 squared error of 300 px (90000) is out of float16's range element-wise, but
its weighted mean is not, and a zero weight must give 0, not ``0 * inf = NaN``.
"""
import torch

from ..functional.compile import maybe_compiled
from ..functional.location.coordinate import (balanced_l1_loss, l1_loss, l2_loss,
                                              smooth_l1_loss)
from ..functional.location.ghmr import ghmr_loss
from ..functional.reduction import AVG_EPS, align_weight, reduce_sum
from ..functional.validation import check_int, check_number
from ..registry import MODELS
from .base import BaseLoss


@MODELS.register_module()
class L1Loss(BaseLoss):
    """L1 loss, ``|pred - target|`` element-wise.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.

    Shapes: ``pred``, ``target`` ``(N, 4)`` (or any equal shapes); ``weight`` the same
    shape or ``(N,)`` for all coordinates of a box; ``'none'`` gives ``(N, 4)``.
    """

    loss_fn = staticmethod(maybe_compiled(l1_loss))


@MODELS.register_module()
class L2Loss(BaseLoss):
    """L2 loss, the squared error ``(pred - target)^2`` element-wise (MMDetection's
    ``MSELoss``). Arguments and shapes as :class:`L1Loss`."""

    loss_fn = staticmethod(maybe_compiled(l2_loss))


@MODELS.register_module()
class SmoothL1Loss(BaseLoss):
    """Smooth L1 loss (Fast R-CNN), see
    :func:`~mmdet_losses.functional.smooth_l1_loss`.

    Args:
        beta: ``>= 0``; below ``1e-5`` the loss is L1.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.
    """

    loss_fn = staticmethod(maybe_compiled(smooth_l1_loss))

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.beta = check_number('beta', beta, low=0.0)

    def loss_kwargs(self):
        return {'beta': self.beta}


@MODELS.register_module()
class BalancedL1Loss(BaseLoss):
    """Balanced L1 loss (Libra R-CNN, arXiv 1904.02701), see
    :func:`~mmdet_losses.functional.balanced_l1_loss`; MMDetection's
    ``BalancedL1Loss`` in value and gradient.

    Args:
        alpha: ``> 0`` (paper: 0.5).
        gamma: ``> 0`` (paper: 1.5).
        beta: ``> 0`` (paper: 1.0).
        reduction, loss_weight: as :class:`L1Loss`.
    """

    loss_fn = staticmethod(maybe_compiled(balanced_l1_loss))

    def __init__(self, alpha: float = 0.5, gamma: float = 1.5, beta: float = 1.0,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.alpha = check_number('alpha', alpha, low=0.0, low_open=True)
        self.gamma = check_number('gamma', gamma, low=0.0, low_open=True)
        self.beta = check_number('beta', beta, low=0.0, low_open=True)

    def loss_kwargs(self):
        return {'alpha': self.alpha, 'gamma': self.gamma, 'beta': self.beta}


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
        reduction, loss_weight: as :class:`L1Loss`.
    """

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


__all__ = ['L1Loss', 'L2Loss', 'SmoothL1Loss', 'BalancedL1Loss', 'GHMR']
