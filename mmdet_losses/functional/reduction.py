"""The one reduction core: element-wise weights, ``avg_factor`` and reduction, with
MMDetection's semantics (``mmdet.models.losses.utils.weight_reduce_loss``).

Every loss of the package returns element-wise values and reduces them here, so the
rules below hold everywhere:

* ``weight`` multiplies the element-wise loss. Besides the loss's own shape it may be
  a prefix of it (``(N,)`` for an ``(N, 4)`` loss applies to all four coordinates),
  anything that broadcasts to it, carry one extra last dimension (``(N, 4)`` box
  weights for an ``(N,)`` per-box loss are averaged over that dimension, as
  MMDetection's IoU losses do), or be flat with the loss's number of elements.
* Where a weight is 0, the loss and its gradient are exactly 0 whatever the
  prediction holds (:func:`zero_unweighted`).
* ``reduction='mean'`` without ``avg_factor`` is the mean over all elements;
  with ``avg_factor`` it is ``sum / (avg_factor + eps)``, ``eps`` being the float32
  machine epsilon, so an ``avg_factor`` of 0 gives 0, not NaN.
* ``reduction='sum'`` with ``avg_factor`` is an error; so is an unknown reduction.
* The mean of an empty loss is a zero that stays in the autograd graph.
"""
from typing import Optional, Union

import torch
from torch import Tensor

from .dtypes import HALF_PRECISION
from .validation import check_reduction

__all__ = ['reduce_loss', 'reduce_sum', 'weight_reduce_loss']

AVG_EPS = torch.finfo(torch.float32).eps


def align_weight(weight: Tensor, loss: Union[Tensor, torch.Size, tuple]) -> Tensor:
    """Shape ``weight`` so that ``loss * weight`` has the shape of ``loss``.

    Args:
        weight: element-wise weights: the shape of ``loss``, a prefix of it, a shape
            that broadcasts to it, the shape of ``loss`` plus one last dimension
            (averaged away), or one flat dimension with as many elements as ``loss``
            (MMDetection's FSAF head passes ``(N * C,)`` weights for an ``(N, C)``
            loss; they are reshaped row-major, as mmdet does).
        loss: element-wise loss, or its shape.

    Returns:
        ``weight`` reshaped (or averaged) to broadcast to the loss's shape.
    """
    shape = loss.shape if isinstance(loss, Tensor) else torch.Size(loss)
    if weight.shape == shape:
        return weight
    if weight.dim() == len(shape) + 1 and weight.shape[:-1] == shape:
        return weight.mean(-1)
    if weight.dim() < len(shape) and weight.shape == shape[:weight.dim()]:
        return weight.reshape(weight.shape + (1, ) * (len(shape) - weight.dim()))
    try:
        if torch.broadcast_shapes(weight.shape, shape) == shape:
            return weight
    except RuntimeError:
        pass
    if weight.dim() == 1 and len(shape) > 1 and weight.numel() == shape.numel():
        return weight.reshape(shape)
    raise ValueError(
        f'weight of shape {tuple(weight.shape)} does not fit the element-wise loss '
        f'of shape {tuple(shape)}: give the same shape, its leading '
        'dimensions, the same shape plus one last dimension, or one flat dimension '
        'with as many elements')


def zero_unweighted(pred: Tensor, weight: Optional[Tensor], loss_shape,
                    fill: float = 0.0) -> Tensor:
    """``pred`` with ``fill`` where the loss element's weight is not positive.

    A zero weight must give a zero value and a zero gradient whatever ``pred`` holds
    there (garbage, inf, NaN): ``loss * 0`` is NaN for a non-finite loss, and so is
    the gradient through it. Replacing those predictions by a harmless constant
    before the loss is computed keeps both exactly zero, keeps ``pred`` in the graph
    (every parameter behind it gets a gradient, as DDP needs) and needs no host
    synchronisation.

    Args:
        pred: prediction whose leading dimensions are ``loss_shape``.
        weight: element-wise weights (see :func:`align_weight`), or ``None``.
        loss_shape: shape of the element-wise loss.
        fill: the value put in place of unweighted predictions.

    Returns:
        ``pred`` itself when ``weight`` is ``None``, else a masked copy.
    """
    if weight is None:
        return pred
    keep = align_weight(weight, loss_shape) > 0
    keep = keep.reshape(keep.shape + (1, ) * (pred.dim() - keep.dim()))
    return torch.where(keep, pred, pred.new_full((), fill))


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss.

    Args:
        loss: element-wise loss of any shape.
        reduction: ``'none'`` (returned as is), ``'mean'`` or ``'sum'``.

    Returns:
        ``loss``, or a scalar. The mean of an empty loss is its (empty) sum:
        zero, still in the graph, instead of ``Tensor.mean``'s NaN.
    """
    check_reduction(reduction)
    if reduction == 'none':
        return loss
    return reduce_sum(_sum(loss), loss.numel(), reduction).to(loss.dtype)


def weight_reduce_loss(loss: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[Union[float, Tensor]] = None
                       ) -> Tensor:
    r"""Apply element-wise weights, then reduce (see the module docstring).

    .. math::
        \mathrm{mean}_{avg}(\ell, w) = \frac{\sum_i w_i \ell_i}
                                             {\mathrm{avg\_factor} + \epsilon}

    Args:
        loss: element-wise loss.
        weight: optional element-wise weights (see :func:`align_weight`).
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor: optional normaliser for ``'mean'`` (number of positives, say).

    Returns:
        The weighted loss (``'none'``) or a scalar.

    Raises:
        ValueError: unknown ``reduction``, or ``avg_factor`` with ``'sum'``.
    """
    check_reduction(reduction)
    if weight is not None:
        loss = loss * align_weight(weight, loss)
    if reduction == 'none':
        return loss
    return reduce_sum(_sum(loss), loss.numel(), reduction, avg_factor).to(loss.dtype)


def _sum(loss: Tensor) -> Tensor:
    # Half-precision losses are summed in float32: 65504 is float16's largest value.
    if loss.dtype in HALF_PRECISION:
        return loss.sum(dtype=torch.float32)
    return loss.sum()


def reduce_sum(total: Tensor,
               numel: int,
               reduction: str,
               avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Finish a ``'mean'`` or ``'sum'`` reduction from the weighted sum of a loss.

    Fused losses that never hold the element-wise loss reduce through this, so they
    share :func:`weight_reduce_loss`'s semantics.

    Args:
        total: scalar, the sum of the weighted element-wise loss.
        numel: number of elements the sum ran over (the ``'mean'`` divisor).
        reduction: ``'mean'`` or ``'sum'``.
        avg_factor: optional normaliser of ``'mean'``.

    Returns:
        Scalar loss; the mean over zero elements is ``total`` itself (0, in graph).
    """
    check_reduction(reduction)
    if reduction == 'none':
        raise ValueError("reduce_sum needs reduction 'mean' or 'sum', got 'none'")
    if reduction == 'sum':
        if avg_factor is not None:
            raise ValueError(
                'avg_factor can not be used with reduction="sum": use "mean" '
                f'(sum / avg_factor) or drop avg_factor, got avg_factor={avg_factor!r}')
        return total
    if avg_factor is not None:
        if isinstance(avg_factor, Tensor):  # a count on the device: no host sync
            avg_factor = avg_factor.to(total.dtype if total.is_floating_point()
                                       else torch.float32)
        return total / (avg_factor + AVG_EPS)
    return total / max(numel, 1)
