"""Registered category losses: ``CrossEntropyLoss`` and ``FocalLoss``."""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from ..functional.classification import (DEFAULT_IGNORE_INDEX, binary_targets,
                                         check_labels, sigmoid_focal_loss,
                                         softmax_cross_entropy,
                                         softmax_focal_loss)
from ..functional.fused_focal import sigmoid_focal_loss_sum
from ..functional.reduction import align_weight, reduce_sum, weight_reduce_loss
from ..functional.validation import check_number, check_same_shape
from ..registry import MODELS
from .base import BaseLoss

# Below this many labels the background-channel check (see _CategoryLoss) is skipped.
_BACKGROUND_CHECK_MIN_LABELS = 16


def _check_alpha(alpha, use_sigmoid: bool):
    if alpha is None:
        return None
    if use_sigmoid or isinstance(alpha, (int, float)):
        return check_number('alpha', alpha, 0.0, 1.0)
    if not isinstance(alpha, (list, tuple)):
        raise ValueError('alpha must be None, a float in [0, 1] or (softmax) a list '
                         f'of per-class weights, got {alpha!r}')
    return [check_number(f'alpha[{i}]', a, low=0.0) for i, a in enumerate(alpha)]


class _CategoryLoss(BaseLoss):
    """Shared sigmoid/softmax plumbing: label checks, ignored labels and the fused
    sigmoid path.

    A sigmoid loss wired to a head that predicts ``C + 1`` channels (its config lacks
    ``use_sigmoid=True``, which MMDetection's heads read from the config) would
    silently learn background as a class. On the first call that brings at least 16
    integer labels, a sigmoid loss therefore raises if no label is the background
    index ``C`` while the last channel's label is the majority.
    """

    def __init__(self, use_sigmoid: bool, activated: bool, reduction: str,
                 loss_weight: float, ignore_index: Optional[int] = None,
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = bool(use_sigmoid)
        self.activated = bool(activated)
        if ignore_index is not None and (isinstance(ignore_index, bool)
                                         or not isinstance(ignore_index, int)):
            raise ValueError(f'ignore_index must be None or an int, got {ignore_index!r}')
        self.ignore_index = ignore_index
        self.label_smoothing = check_number('label_smoothing', label_smoothing,
                                            0.0, 1.0, high_open=True)
        self._background_checked = False

    def _check_inputs(self, pred: Tensor, target: Tensor, ignore_index) -> None:
        if target.is_floating_point():
            if not self.use_sigmoid:
                raise ValueError('a softmax loss (use_sigmoid=False) takes integer '
                                 f'labels of shape (N,), got {target.dtype} '
                                 f'{tuple(target.shape)}')
            check_same_shape(pred, target, 'pred and float target')
            return
        if pred.dim() != 2:
            raise ValueError(f'pred must have shape (N, num_channels) with integer '
                             f'labels, got {tuple(pred.shape)}')
        if target.shape != pred.shape[:1]:
            raise ValueError(f'labels must have shape (N,) = ({pred.shape[0]},) for '
                             f'pred of shape {tuple(pred.shape)}, got '
                             f'{tuple(target.shape)}')
        num_channels = pred.shape[1]
        max_label = num_channels if self.use_sigmoid else num_channels - 1
        check_labels(target, max_label, ignore_index)
        if self.use_sigmoid and not self._background_checked:
            self._check_background_channel(target, num_channels)

    def _check_background_channel(self, labels: Tensor, num_classes: int) -> None:
        if labels.numel() < _BACKGROUND_CHECK_MIN_LABELS:
            return
        self._background_checked = True
        if bool((labels == num_classes).any()):
            return
        if int((labels == num_classes - 1).sum()) * 2 > labels.numel():
            raise ValueError(
                f'{type(self).__name__}(use_sigmoid=True) got pred with '
                f'{num_classes} channels and no label {num_classes} (background), '
                f'while label {num_classes - 1} is the majority: the head predicts '
                'C + 1 channels. MMDetection heads read use_sigmoid from the loss '
                "config: set use_sigmoid=True in the head's loss_cls, or "
                'use_sigmoid=False for a softmax loss.')

    def _sigmoid(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                 reduction: str, avg_factor, gamma: float,
                 alpha: Optional[float], class_weight: Optional[Tensor] = None,
                 avg_non_ignore: bool = False,
                 ignore_index: Optional[int] = None) -> Tensor:
        """Sigmoid focal / BCE with MMDetection's label conventions."""
        num_classes = pred.shape[-1] if pred.dim() else 1
        if weight is not None:
            weight = align_weight(weight, pred)
        if not target.is_floating_point() and ignore_index is not None:
            valid = (target != ignore_index)
            weight = valid[:, None] if weight is None else weight * valid[:, None]
            target = target.masked_fill(~valid, num_classes)
            if avg_non_ignore and avg_factor is None and reduction == 'mean':
                avg_factor = int(valid.sum()) * num_classes
        if class_weight is not None:
            class_weight = class_weight.to(pred)
            weight = class_weight if weight is None else weight * class_weight
        if reduction != 'none' and not self.activated \
                and not target.requires_grad \
                and (weight is None or not weight.requires_grad):
            total = sigmoid_focal_loss_sum(pred, target, weight, gamma, alpha,
                                           self.label_smoothing)
            return reduce_sum(total, pred.numel(), reduction,
                              avg_factor).to(pred.dtype)
        if not target.is_floating_point():
            target = binary_targets(target, num_classes)
        if self.label_smoothing:
            target = target * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        loss = sigmoid_focal_loss(pred, target, gamma, alpha, self.activated)
        return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class CrossEntropyLoss(_CategoryLoss):
    """Cross-entropy: softmax over ``C + 1`` logits or binary (sigmoid) over ``C``.

    Args:
        use_sigmoid: ``False``: softmax cross-entropy, ``pred`` ``(N, C + 1)`` (last
            logit background), labels ``(N,)``, ``'none'`` gives ``(N,)``. ``True``:
            binary cross-entropy, ``pred`` ``(N, C)``; integer labels ``(N,)`` become
            one-hot targets (label ``C`` = background = all zeros), float targets of
            ``pred``'s shape are used as they are; ``'none'`` gives ``(N, C)``.
        class_weight: optional per-class weights, ``C + 1`` (softmax) or ``C``
            (sigmoid, weighing each class's whole binary loss; MMDetection passes it
            as BCE's ``pos_weight`` instead, which weighs only the positive term).
        ignore_index: label whose samples are ignored; ``None`` ignores ``-100``, as
            ``F.cross_entropy`` and MMDetection's ``CrossEntropyLoss`` do.
        avg_non_ignore: with ``'mean'`` and no ``avg_factor``, average over the
            non-ignored elements only.
        label_smoothing: in ``[0, 1)``; softmax: as ``F.cross_entropy``; sigmoid:
            targets ``t (1 - s) + s / 2``.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.
    """

    def __init__(self,
                 use_sigmoid: bool = False,
                 class_weight: Optional[Sequence[float]] = None,
                 ignore_index: Optional[int] = None,
                 avg_non_ignore: bool = False,
                 label_smoothing: float = 0.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(use_sigmoid, False, reduction, loss_weight, ignore_index,
                         label_smoothing)
        self.avg_non_ignore = bool(avg_non_ignore)
        if class_weight is not None:
            class_weight = [check_number(f'class_weight[{i}]', w, low=0.0)
                            for i, w in enumerate(class_weight)]
        self.class_weight = class_weight

    def loss_kwargs(self):
        return {'use_sigmoid': self.use_sigmoid, 'ignore_index': self.ignore_index,
                'label_smoothing': self.label_smoothing}

    def _class_weight(self, pred: Tensor) -> Optional[Tensor]:
        if self.class_weight is None:
            return None
        num_expected = pred.shape[-1] if pred.dim() else 1
        if len(self.class_weight) != num_expected:
            raise ValueError(f'class_weight must have {num_expected} entries for pred '
                             f'of shape {tuple(pred.shape)}, got '
                             f'{len(self.class_weight)}')
        dtype = torch.float64 if pred.dtype == torch.float64 else torch.float32
        return pred.new_tensor(self.class_weight, dtype=dtype)

    def weighted_loss(self, pred, target, weight, reduction, avg_factor):
        ignore_index = DEFAULT_IGNORE_INDEX if self.ignore_index is None \
            else self.ignore_index
        self._check_inputs(pred, target, ignore_index)
        class_weight = self._class_weight(pred)
        if self.use_sigmoid:
            return self._sigmoid(pred, target, weight, reduction, avg_factor, 0.0,
                                 None, class_weight, self.avg_non_ignore,
                                 ignore_index)
        loss = softmax_cross_entropy(pred, target, class_weight, ignore_index,
                                     self.label_smoothing)
        if self.avg_non_ignore and avg_factor is None and reduction == 'mean':
            avg_factor = int((target != ignore_index).sum())
        return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class FocalLoss(_CategoryLoss):
    """Focal Loss (Lin et al., arXiv 1708.02002), sigmoid or softmax.

    .. math:: FL(p_t) = -\\alpha_t (1 - p_t)^{\\gamma} \\log(p_t)

    Args:
        use_sigmoid: ``True``: sigmoid focal over ``C`` logits, labels as in
            :class:`CrossEntropyLoss` with ``use_sigmoid=True``, ``'none'`` gives
            ``(N, C)``. ``False``: softmax focal over ``C + 1`` logits (last =
            background), ``'none'`` gives ``(N,)``.
        gamma: focusing parameter, ``>= 0``; 0 gives alpha-balanced cross-entropy.
        alpha: sigmoid: weight of positives in ``[0, 1]`` (negatives get
            ``1 - alpha``), ``None`` to disable. Softmax: ``None``, a float
            (``alpha`` for foreground classes, ``1 - alpha`` for background) or a
            list of ``C + 1`` per-class weights.
        activated: ``pred`` holds probabilities instead of logits.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 gamma: float = 2.0,
                 alpha: Union[None, float, Sequence[float]] = 0.25,
                 activated: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(use_sigmoid, activated, reduction, loss_weight)
        self.gamma = check_number('gamma', gamma, low=0.0)
        self.alpha = _check_alpha(alpha, self.use_sigmoid)

    def loss_kwargs(self):
        return {'use_sigmoid': self.use_sigmoid, 'gamma': self.gamma,
                'alpha': self.alpha, 'activated': self.activated}

    def weighted_loss(self, pred, target, weight, reduction, avg_factor):
        ignore_index = None if self.use_sigmoid else DEFAULT_IGNORE_INDEX
        self._check_inputs(pred, target, ignore_index)
        if self.use_sigmoid:
            return self._sigmoid(pred, target, weight, reduction, avg_factor,
                                 self.gamma, self.alpha)
        loss = softmax_focal_loss(pred, target, self.gamma, self.alpha,
                                  self.activated, ignore_index)
        return weight_reduce_loss(loss, weight, reduction, avg_factor)
