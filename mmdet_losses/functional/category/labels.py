"""The label conventions of the category losses (MMDetection's), written once.

* A **binary** (sigmoid) loss scores ``C`` foreground classes with ``pred (N, C)``.
  Its target is ``(N,)`` integer labels, ``C`` meaning background (an all-zero target
  row); or ``(N, C)`` float (soft) targets, or integer 0/1 ones (used as floats,
  as MMDetection does); or, for the quality losses, a ``(labels, scores)`` tuple:
  the label column's target is the score (an IoU), the others 0.
* A **softmax** loss scores ``C + 1`` logits (the last one background) with
  ``(N,)`` integer labels; label ``ignore_index`` (-100 by default) is ignored.
* A **mask** head (MMDetection's ``CrossEntropyLoss(use_mask=True)``) predicts one
  ``H x W`` map of logits per class for every RoI, and only the map of the RoI's own
  label is trained (:func:`select_label_maps`).

Data checks (label ranges) cost one host synchronisation; callers choose when to run
them (``check``).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..dtypes import compute_dtype
from ..validation import check_same_shape

__all__ = ['one_hot']

DEFAULT_IGNORE_INDEX = -100
QualityTarget = Tuple[Tensor, Tensor]
CategoryTarget = Union[Tensor, QualityTarget]


def check_labels(labels: Tensor,
                 max_label: int,
                 ignore_index: Optional[int] = None,
                 name: str = 'labels') -> None:
    """Raise ``ValueError`` if a label (other than ``ignore_index``) is outside
    ``[0, max_label]``. One device synchronisation."""
    if labels.numel() == 0:
        return
    if ignore_index is not None:
        labels = labels.masked_fill(labels == ignore_index, 0)
    low, high = (int(v) for v in torch.aminmax(labels))
    if low < 0 or high > max_label:
        bad = low if low < 0 else high
        ignored = '' if ignore_index is None else \
            f' (or ignore_index={ignore_index})'
        raise ValueError(f'{name} must lie in [0, {max_label}]{ignored}, '
                         f'got {bad}')


def check_background_channel(labels: Tensor, num_classes: int, loss_name: str) -> None:
    """Raise if no label is the background index ``C`` while label ``C - 1`` is the
    majority: the head predicts ``C + 1`` channels for a sigmoid loss (its config
    lacks ``use_sigmoid=True``, which MMDetection's heads read from ``loss_cls``).
    One channel is never a softmax head's ``C + 1`` (that head would have no
    foreground class), so a single-channel prediction passes whatever its labels
    (``GuidedAnchorHead``'s location loss gives all-zero labels for an image without
    objects). One device synchronisation."""
    if num_classes < 2 or bool((labels == num_classes).any()):
        return
    if int((labels == num_classes - 1).sum()) * 2 > labels.numel():
        raise ValueError(
            f'{loss_name}(use_sigmoid=True) got pred with {num_classes} channels and '
            f'no label {num_classes} (background), while label {num_classes - 1} is '
            'the majority: the head predicts C + 1 channels. MMDetection heads read '
            "use_sigmoid from the loss config: set use_sigmoid=True in the head's "
            'loss_cls, or use_sigmoid=False for a softmax loss.')


def check_label_shape(pred: Tensor, labels: Tensor) -> None:
    """Integer labels are ``(N,)`` for an ``(N, channels)`` prediction."""
    if pred.dim() != 2:
        raise ValueError(f'pred must have shape (N, num_channels) with integer '
                         f'labels, got {tuple(pred.shape)}')
    if labels.shape != pred.shape[:1]:
        raise ValueError(f'labels must have shape (N,) = ({pred.shape[0]},) for '
                         f'pred of shape {tuple(pred.shape)}, got '
                         f'{tuple(labels.shape)}')


def binary_targets(labels: Tensor, num_classes: int,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """``(N,)`` labels in ``[0, C]`` to ``(N, C)`` one-hot targets of ``dtype``;
    label ``C`` (background) gives a row of zeros."""
    return F.one_hot(
        labels.long().clamp(min=0, max=num_classes), num_classes + 1)[:, :num_classes].to(dtype)


def split_binary_target(pred: Tensor, target: CategoryTarget, quality: bool,
                        loss_name: str, check: bool = True
                        ) -> Tuple[Tensor, Optional[Tensor]]:
    """Check a binary loss's target against ``pred`` and return ``(labels or dense
    target, scores or None)``; integer targets of ``pred``'s shape come back as
    float targets (``check``: after a range check, one host synchronisation)."""
    if isinstance(target, (tuple, list)):
        if not quality:
            raise TypeError(f'{loss_name} takes integer labels or a float target, got '
                            'a tuple: (labels, scores) targets are for the quality '
                            "losses (kind 'quality' in mmdet_losses.spec)")
        if len(target) != 2:
            raise ValueError(f'{loss_name} takes a (labels, scores) tuple, got '
                             f'{len(target)} items')
        labels, scores = target
        if labels.is_floating_point() or not scores.is_floating_point():
            raise TypeError(f'{loss_name} takes (labels, scores) as (integer, float) '
                            f'tensors, got ({labels.dtype}, {scores.dtype})')
        if pred.dim() != 2 or labels.shape != pred.shape[:1] \
                or scores.shape != pred.shape[:1]:
            raise ValueError(f'{loss_name}: labels and scores must have shape (N,) = '
                             f'({pred.shape[0] if pred.dim() else 1},) for pred of '
                             f'shape {tuple(pred.shape)}, got {tuple(labels.shape)} '
                             f'and {tuple(scores.shape)}')
        return labels, scores
    if not isinstance(target, Tensor):
        raise TypeError(f'{loss_name}: target must be a tensor'
                        f'{" or a (labels, scores) tuple" if quality else ""}, '
                        f'got {type(target).__name__}')
    if not target.is_floating_point() and target.shape == pred.shape:
        # Integer targets of pred's shape are binary targets, as MMDetection takes
        # them (SABL's bucket classification passes its 0/1 targets as long).
        if check and target.dtype != torch.bool:
            check_labels(target, 1, name=f'{loss_name}: integer targets of pred\'s '
                         f'shape {tuple(pred.shape)} (binary targets)')
        target = target.to(compute_dtype(pred))
    if target.is_floating_point():
        check_same_shape(pred, target, 'pred and float target')
        return target, None
    if quality:
        raise TypeError(f'{loss_name} takes a (labels, scores) tuple or an (N, C) '
                        f'float target, got integer labels of shape '
                        f'{tuple(target.shape)}: the head passes labels only; '
                        'heads that give IoU scores: GFLHead, VFNetHead '
                        "(use_vfl=True) and this package's quality heads "
                        '(mmdet_losses.models.QUALITY_HEADS)')
    check_label_shape(pred, target)
    return target, None


def one_hot(labels: Tensor, num_classes: Optional[int] = None) -> Tensor:
    """One-hot encoding, as ``torch.nn.functional.one_hot`` with clear errors.

    Args:
        labels: ``(*)`` integer labels in ``[0, num_classes)``.
        num_classes: number of classes; ``max(labels) + 1`` when ``None``.

    Returns:
        ``(*, num_classes)`` int64 tensor.
    """
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f'labels must be an integer tensor, got {labels.dtype}')
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.numel() else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int) \
            or num_classes < 0:
        raise ValueError(f'num_classes must be an int >= 0, got {num_classes!r}')
    check_labels(labels, num_classes - 1, name='labels')
    return F.one_hot(labels.long(), num_classes)


def select_label_maps(pred: Tensor, labels: Optional[Tensor],
                      check: bool = True) -> Tensor:
    """Each RoI's map for its own label: ``pred[i, labels[i]]``.

    Args:
        pred: ``(N, C, *)`` per-class logits of ``N`` RoIs (``(N, 1, *)`` for a
            class-agnostic head; ``*`` is ``H, W`` for masks, ``P`` for points).
        labels: ``(N,)`` integer labels in ``[0, C - 1]`` (zeros for a class-agnostic
            head).
        check: run the label-range check (one host synchronisation).

    Returns:
        ``(N, *)`` logits; the gradient flows back to the selected maps only.
    """
    if labels is None or not isinstance(labels, Tensor) or labels.is_floating_point():
        got = type(labels).__name__ if not isinstance(labels, Tensor) else \
            f'{labels.dtype} {tuple(labels.shape)}'
        raise TypeError('a mask loss (use_mask=True) takes the RoIs\' labels as its '
                        'third argument, an integer tensor of shape (N,), as '
                        f'MMDetection\'s mask heads pass them; got {got}')
    if pred.dim() < 2 or labels.shape != pred.shape[:1]:
        raise ValueError('a mask loss (use_mask=True) takes pred of shape (N, C, *) and '
                         f'labels of shape (N,), got {tuple(pred.shape)} and '
                         f'{tuple(labels.shape)}')
    if check:
        check_labels(labels, pred.shape[1] - 1, name='labels (use_mask=True)')
    rois = torch.arange(pred.shape[0], device=pred.device)
    return pred[rois, labels.long()]
