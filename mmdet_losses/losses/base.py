"""``BaseLoss``: the MMDetection loss contract, written once.

A concrete loss supplies its element-wise function (``loss_fn``) and its
hyper-parameters (``loss_kwargs``); this class adds ``loss_weight``, ``reduction``,
``reduction_override``, ``weight`` and ``avg_factor`` exactly as MMDetection's heads
expect them.
"""
from typing import Callable, Dict, Optional, Union

import torch
from torch import Tensor, nn

from ..functional.dtypes import compute_dtype
from ..functional.reduction import weight_reduce_loss, zero_unweighted
from ..functional.validation import check_number, check_reduction


def _autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for this device type (False for types autocast does
    not know, such as ``meta``)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:
        return False


class BaseLoss(nn.Module):
    """Base of every registered loss.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``; a call may override it with
            ``reduction_override``.
        loss_weight: factor applied to the reduced loss, ``>= 0`` (a negative
            weight would have the optimizer maximise the loss).

    Subclasses set ``loss_fn``, a function ``(pred, target, **kwargs) -> Tensor`` that
    returns the element-wise loss, and may override :meth:`loss_kwargs` (the
    hyper-parameters passed to it), :meth:`elementwise`, or :meth:`weighted_loss`
    (a fused loss that never holds the element-wise values).

    Where ``weight`` is 0 the loss and its gradient are exactly 0, whatever ``pred``
    holds there, and ``pred`` still gets a (zero) gradient, so that DDP finds one for
    every parameter when a batch has no positive sample: predictions whose weight is
    0 are replaced by ``unweighted_fill`` before ``loss_fn`` sees them
    (:func:`~mmdet_losses.functional.reduction.zero_unweighted`), with tensor
    operations only (no host synchronisation). ``element_dims`` is the number of
    trailing ``pred`` dimensions one loss element consumes (1 for boxes ``(N, 4)`` ->
    ``(N,)``, 0 for coordinate losses); ``None`` for a loss that applies this rule
    itself (the fused category losses do it inside their kernels).

    The value is in the compute dtype of ``pred`` (float32 for half, bfloat16 and
    integer predictions, float64 for float64), for every loss and reduction; under
    autocast (mixed precision) the loss is computed in float32 with autocast off and
    returns a float32 value. See :mod:`mmdet_losses.functional.dtypes`.
    """

    loss_fn: Callable[..., Tensor]
    element_dims: Optional[int] = 0
    unweighted_fill: float = 0.0

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.loss_weight = check_number('loss_weight', loss_weight, low=0.0)

    def data_check_due(self, tensor: Tensor) -> bool:
        """Whether to run the data checks (label or target ranges) that cost a host
        synchronisation: on every call for CPU tensors (no cost there), on the first
        call on an accelerator."""
        checked = self.__dict__.setdefault('_checked_devices', set())
        device = tensor.device.type
        if device == 'cpu' or device not in checked:
            checked.add(device)
            return True
        return False

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
        if pred.is_floating_point() and _autocast_enabled(pred.device.type):
            # Mixed precision: the loss in float32, with autocast off, and a float32
            # value for the loss scaler (its gradient flows back to the half pred).
            with torch.autocast(pred.device.type, enabled=False):
                return self.forward(pred.float(), target, weight, avg_factor,
                                    reduction_override, **kwargs)
        reduction = self.reduction if reduction_override is None else \
            check_reduction(reduction_override, 'reduction_override')
        # The dtype rule of every loss (functional.dtypes): in, and out, once.
        dtype = compute_dtype(pred)
        pred = pred.to(dtype)
        if weight is not None and self.element_dims is not None:
            loss_shape = pred.shape[:pred.dim() - self.element_dims]
            pred = zero_unweighted(pred, weight, loss_shape, self.unweighted_fill)
        loss = self.weighted_loss(pred, target, weight, reduction, avg_factor,
                                  **kwargs)
        return (self.loss_weight * loss).to(dtype)

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
