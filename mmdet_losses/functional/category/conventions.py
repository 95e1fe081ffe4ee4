"""MMDetection's conventions applied to a category loss, written once, and the one
place that chooses between a fused kernel and the plain element-wise path.

The labels and targets are :mod:`.labels`'. Rules that hold for every category loss:

* Where an element's weight is 0 (or its row is ignored) the logits are replaced by a
  constant before the loss sees them, so garbage there (inf, NaN) contributes exactly
  0 to the value and the gradient; ``pred`` still gets a gradient everywhere.
* ``weight`` takes every shape of :func:`~mmdet_losses.functional.reduction.
  align_weight`, MMDetection's flat ``(N * C,)`` weights (FSAF) included.
* ``avg_non_ignore`` with ``'mean'`` and no ``avg_factor`` averages over the valid
  elements, counted on the device (no host synchronisation).
* Labels equal to ``ignore_index`` give rows of weight 0.
"""
from typing import Callable, Optional, Union

import torch
from torch import Tensor

from ..dtypes import compute_dtype, upcast
from ..reduction import align_weight, reduce_sum, weight_reduce_loss
from .labels import (DEFAULT_IGNORE_INDEX, CategoryTarget, binary_targets,
                     check_label_shape, check_labels, split_binary_target)


def binary_loss(elementwise: Callable[..., Tensor],
                fused: Optional[Callable[..., Tensor]],
                pred: Tensor,
                target: CategoryTarget,
                weight: Optional[Tensor] = None,
                reduction: str = 'mean',
                avg_factor: Optional[Union[float, Tensor]] = None,
                *,
                loss_name: str = 'loss',
                quality: bool = False,
                ignore_index: Optional[int] = None,
                class_weight: Optional[Tensor] = None,
                label_smoothing: float = 0.0,
                avg_non_ignore: bool = False,
                sum_classes: bool = False,
                activated: bool = False,
                check: bool = True,
                **hyper) -> Tensor:
    """A sigmoid category loss with MMDetection's conventions (see module doc).

    Args:
        elementwise: ``(pred (N, C), target (N, C) float, **hyper) -> (N, C)``, the
            plain autograd reference.
        fused: ``(pred, labels or dense target, weight, **hyper[, scores=...]) ->
            scalar sum`` or ``None``; used for ``'mean'``/``'sum'`` on logits when
            neither target nor weight needs a gradient.
        pred: ``(N, C)`` logits (probabilities if ``activated``); any shape with a
            float target of the same shape.
        target: ``(N,)`` labels, a target of ``pred``'s shape (float, or integer
            0/1), or (quality losses) a ``(labels, scores)`` tuple.
        weight, reduction, avg_factor: as :func:`~.reduction.weight_reduce_loss`.
        quality: the loss takes ``(labels, scores)`` or float targets only.
        ignore_index: label of ignored rows (integer labels only).
        class_weight: optional ``(C,)`` weights of each class's whole loss.
        label_smoothing: targets become ``t (1 - s) + s / 2``.
        avg_non_ignore: average ``'mean'`` over the valid elements.
        sum_classes: ``'none'`` gives ``(N,)`` summed over classes, and ``'mean'``
            divides by ``N`` (QFL's convention) instead of ``N * C``.
        activated: ``pred`` holds probabilities.
        check: run the label-range check (one host synchronisation).

    Returns:
        The weighted loss (``'none'``) or a scalar, in the compute dtype of
        :mod:`.dtypes` (float32 for half-precision ``pred``).
    """
    labels_or_dense, scores = split_binary_target(pred, target, quality, loss_name,
                                                  check)
    num_classes = pred.shape[-1] if pred.dim() else 1
    integer = not labels_or_dense.is_floating_point()
    if check and integer:
        check_labels(labels_or_dense, num_classes, ignore_index)
    if weight is not None:
        weight = align_weight(weight, pred)
    if integer and ignore_index is not None:
        valid = (labels_or_dense != ignore_index)[:, None]
        weight = valid if weight is None else weight * valid
        labels_or_dense = labels_or_dense.masked_fill(~valid[:, 0], num_classes)
        if avg_non_ignore and avg_factor is None and reduction == 'mean':
            avg_factor = valid.sum() * num_classes
    if class_weight is not None:
        class_weight = class_weight.to(compute_dtype(pred))
        weight = class_weight if weight is None else weight * class_weight
    numel = pred.numel() // num_classes if sum_classes and pred.dim() else pred.numel()
    needs_grad = (weight is not None and weight.requires_grad) or \
        labels_or_dense.requires_grad
    if fused is not None and reduction != 'none' and not activated and not needs_grad:
        extra = {} if scores is None else {'scores': scores}
        if label_smoothing:
            extra['label_smoothing'] = label_smoothing
        total = fused(pred, labels_or_dense, weight, **hyper, **extra)
        return reduce_sum(total, numel, reduction, avg_factor)
    dtype = compute_dtype(pred)
    pred = pred.to(dtype)
    if integer:
        dense = binary_targets(labels_or_dense, num_classes, dtype)
        if scores is not None:
            dense = dense * scores.detach().to(dtype)[:, None]
    else:
        dense = labels_or_dense.to(dtype)
    if label_smoothing:
        dense = dense * (1 - label_smoothing) + 0.5 * label_smoothing
    if weight is not None:
        pred = torch.where(weight > 0, pred, pred.new_full((), 0.5 if activated else 0.0))
    loss = elementwise(pred, dense, **hyper)
    if sum_classes:
        if weight is not None:
            loss = loss * weight
        loss, weight = loss.sum(-1), None
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def softmax_loss(elementwise: Callable[..., Tensor],
                 pred: Tensor,
                 labels: Tensor,
                 weight: Optional[Tensor] = None,
                 reduction: str = 'mean',
                 avg_factor: Optional[Union[float, Tensor]] = None,
                 *,
                 ignore_index: Optional[int] = DEFAULT_IGNORE_INDEX,
                 avg_non_ignore: bool = False,
                 activated: bool = False,
                 check: bool = True,
                 **hyper) -> Tensor:
    """A softmax category loss over ``C + 1`` logits with MMDetection's conventions.

    Args:
        elementwise: ``(pred (N, C + 1), labels (N,) in [0, C], **hyper) -> (N,)``.
        pred: ``(N, C + 1)`` logits (probabilities if ``activated``).
        labels: ``(N,)`` integer labels in ``[0, C]`` or ``ignore_index``.
        weight, reduction, avg_factor: as :func:`~.reduction.weight_reduce_loss`.
        ignore_index: label whose rows cost 0 (value and gradient), whatever their
            logits; ``None``: no label is ignored.
        avg_non_ignore: average ``'mean'`` over the non-ignored rows.
        activated: ``pred`` holds probabilities.
        check: run the label-range check (one host synchronisation).

    Returns:
        ``(N,)`` (``'none'``) or a scalar, in the compute dtype of :mod:`.dtypes`.
    """
    if isinstance(labels, (tuple, list)) or not isinstance(labels, Tensor) \
            or labels.is_floating_point():
        kind = type(labels).__name__ if not isinstance(labels, Tensor) else \
            f'{labels.dtype} {tuple(labels.shape)}'
        raise ValueError('a softmax loss (use_sigmoid=False) takes integer labels of '
                         f'shape (N,), got {kind}')
    check_label_shape(pred, labels)
    if check:
        check_labels(labels, pred.shape[1] - 1, ignore_index)
    pred = upcast(pred)
    not_ignored = None if ignore_index is None else labels != ignore_index
    keep = not_ignored
    if weight is not None:
        positive = align_weight(weight, labels) > 0
        keep = positive if keep is None else keep & positive
    if keep is not None:
        fill = 1.0 / pred.shape[1] if activated else 0.0
        pred = torch.where(keep[:, None], pred, pred.new_full((), fill))
        labels = labels.masked_fill(~keep, 0)
    loss = elementwise(pred, labels, **hyper)
    if keep is not None:
        loss = loss * keep
    if not_ignored is not None and avg_non_ignore and avg_factor is None \
            and reduction == 'mean':
        avg_factor = not_ignored.sum()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)
