"""``BaseLoss``: the MMDetection loss contract, written once.

A concrete loss supplies its element-wise function (``loss_fn``) and its
hyper-parameters (``loss_kwargs``); this class adds ``loss_weight``, ``reduction``,
``reduction_override``, ``weight`` and ``avg_factor`` exactly as MMDetection's heads
expect them.
"""
from typing import Callable, Dict, Optional, Union

import torch
from torch import Tensor, nn

from ..functional.reduction import align_weight, weight_reduce_loss
from ..functional.validation import check_number, check_reduction


class BaseLoss(nn.Module):
    """Base of every registered loss.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``; a call may override it with
            ``reduction_override``.
        loss_weight: factor applied to the reduced loss.

    Subclasses set ``loss_fn``, a function ``(pred, target, **kwargs) -> Tensor`` that
    returns the element-wise loss, and may override :meth:`loss_kwargs` (the
    hyper-parameters passed to it), :meth:`elementwise`, or :meth:`weighted_loss`
    (a fused loss that never holds the element-wise values).
    """

    loss_fn: Callable[..., Tensor]

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.loss_weight = check_number('loss_weight', loss_weight)

    def loss_kwargs(self) -> Dict[str, object]:
        """Hyper-parameters passed to ``loss_fn``."""
        return {}

    def elementwise(self, pred: Tensor, target: Tensor, **kwargs) -> Tensor:
        """The element-wise loss, before weights and reduction."""
        return type(self).loss_fn(pred, target, **self.loss_kwargs(), **kwargs)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred: prediction.
            target: learning target.
            weight: optional element-wise weights (shapes as in
                :func:`~mmdet_losses.functional.reduction.align_weight`).
            avg_factor: optional normaliser of the ``'mean'`` reduction.
            reduction_override: ``None`` or a reduction replacing ``self.reduction``.
            **kwargs: extra arguments of ``loss_fn``.

        Returns:
            ``loss_weight`` times the weighted, reduced loss.
        """
        reduction = self.reduction if reduction_override is None else \
            check_reduction(reduction_override, 'reduction_override')
        if weight is not None and reduction != 'none' \
                and not torch.any(weight > 0):
            # No positive weight (no positive sample): a zero that still reaches
            # every parameter behind ``pred``, so DDP finds all gradients.
            return (pred * align_weight(weight, pred)).sum()
        return self.loss_weight * self.weighted_loss(
            pred, target, weight, reduction, avg_factor, **kwargs)

    def weighted_loss(self, pred: Tensor, target: Tensor,
                      weight: Optional[Tensor], reduction: str,
                      avg_factor: Optional[Union[float, Tensor]],
                      **kwargs) -> Tensor:
        """The weighted, reduced loss; fused losses override this."""
        loss = self.elementwise(pred, target, **kwargs)
        return weight_reduce_loss(loss, weight, reduction, avg_factor)

    def extra_repr(self) -> str:
        params = {'reduction': repr(self.reduction), 'loss_weight': self.loss_weight}
        params.update({k: repr(v) if isinstance(v, str) else v
                       for k, v in self.loss_kwargs().items()})
        return ', '.join(f'{k}={v}' for k, v in params.items())
