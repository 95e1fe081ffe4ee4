"""Registered category losses: ``CrossEntropyLoss`` and ``FocalLoss``.

The label conventions (labels with background ``C``, soft targets, ignored labels,
class weights, the C vs C + 1 channel check) and the choice between the fused kernel
and the element-wise reference live in :mod:`mmdet_losses.functional.category`
(``labels`` and ``conventions``); a class here is its functions and its validated
hyper-parameters.
"""
from functools import partial
from typing import Optional, Sequence, Union

from torch import Tensor

from ..functional.category.conventions import binary_loss, softmax_loss
from ..functional.category.cross_entropy import (binary_cross_entropy,
                                                 softmax_cross_entropy)
from ..functional.category.focal import sigmoid_focal_loss, softmax_focal_loss
from ..functional.category.labels import (DEFAULT_IGNORE_INDEX,
                                          check_background_channel,
                                          select_label_maps)
from ..functional.fused.focal import sigmoid_focal_loss_sum
from ..functional.validation import check_class_weight, check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .base import BaseLoss

# Below this many labels the background-channel check (see CategoryLoss) is skipped.
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


class CategoryLoss(BaseLoss):
    """Base of the category losses: when data checks run, and the two conventions.

    Data checks (label range; for sigmoid losses, the background-channel check) cost
    a host synchronisation: they run on every call for CPU tensors and on the first
    call on an accelerator (:meth:`~.base.BaseLoss.data_check_due`). The background-channel check: a sigmoid loss wired to a
    head that predicts ``C + 1`` channels (its config lacks ``use_sigmoid=True``,
    which MMDetection's heads read from the config) would silently learn background
    as a class, so the first call that brings at least 16 integer labels raises if
    no label is the background index ``C`` while label ``C - 1`` is the majority.
    """

    element_dims = None  # the conventions zero unweighted logits themselves
    quality = False      # targets are (labels, scores) or float
    sum_classes = False  # 'none' gives (N,) summed over classes

    def __init__(self, use_sigmoid: bool, activated: bool, reduction: str,
                 loss_weight: float) -> None:
        super().__init__(reduction, loss_weight)
        self.use_sigmoid = bool(use_sigmoid)
        self.activated = bool(activated)
        self._background_checked = False

    def binary(self, elementwise, fused, pred, target, weight, reduction, avg_factor,
               **options) -> Tensor:
        """:func:`~mmdet_losses.functional.category.conventions.binary_loss` with this loss's
        checks."""
        check = self.data_check_due(pred)
        if check and not self._background_checked and not self.quality \
                and isinstance(target, Tensor) and not target.is_floating_point() \
                and target.numel() >= _BACKGROUND_CHECK_MIN_LABELS \
                and pred.dim() == 2 and target.shape == pred.shape[:1]:
            self._background_checked = True
            check_background_channel(target, pred.shape[1], type(self).__name__)
        return binary_loss(elementwise, fused, pred, target, weight, reduction,
                           avg_factor, loss_name=type(self).__name__,
                           quality=self.quality, sum_classes=self.sum_classes,
                           activated=self.activated, check=check, **options)

    def softmax(self, elementwise, pred, target, weight, reduction, avg_factor,
                **options) -> Tensor:
        """:func:`~mmdet_losses.functional.category.conventions.softmax_loss` with this loss's
        checks."""
        return softmax_loss(elementwise, pred, target, weight, reduction, avg_factor,
                            activated=self.activated, check=self.data_check_due(pred),
                            **options)


@MODELS.register_module()
class CrossEntropyLoss(CategoryLoss):
    """Cross-entropy: softmax over ``C + 1`` logits, binary (sigmoid) over ``C``, or
    the mask heads' binary cross-entropy on each RoI's label map.

    Args:
        use_sigmoid: ``False``: softmax cross-entropy, ``pred`` ``(N, C + 1)`` (last
            logit background), labels ``(N,)``, ``'none'`` gives ``(N,)``. ``True``:
            binary cross-entropy, ``pred`` ``(N, C)``; integer labels ``(N,)`` become
            one-hot targets (label ``C`` = background = all zeros), targets of
            ``pred``'s shape (float, or integer 0/1) are used as they are; ``'none'``
            gives ``(N, C)``.
        use_mask: MMDetection's mask loss (needs ``use_sigmoid=False``): ``pred``
            ``(N, C, *)`` per-class mask logits of ``N`` RoIs, ``target`` ``(N, *)``
            float masks, and the third argument (``weight``'s place, where the mask
            heads pass it) the RoIs' labels ``(N,)``: binary cross-entropy of
            ``pred[i, labels[i]]`` against ``target[i]``, ``'mean'`` over all
            elements, ``'none'`` ``(N, *)``.
        class_weight: optional per-class weights (a sequence or a 1-D tensor, as
            MMDetection's ``DETRHead`` builds it): ``C + 1`` (softmax); ``C``
            (sigmoid, weighing each class's whole binary loss; MMDetection passes it
            as BCE's ``pos_weight`` instead, which weighs only the positive term);
            ``C`` with ``use_mask`` (each RoI's loss weighed by its label's weight).
            Kept as the (non-persistent) buffer ``class_weight``, which moves with
            the module.
        ignore_index: label whose samples are ignored; ``None`` ignores ``-100``, as
            ``F.cross_entropy`` and MMDetection's ``CrossEntropyLoss`` do. A call may
            pass ``ignore_index=`` to override it, as MMDetection's forward takes it.
        avg_non_ignore: with ``'mean'`` and no ``avg_factor``, average over the
            non-ignored elements only.
        label_smoothing: in ``[0, 1)``; softmax: as ``F.cross_entropy``; sigmoid:
            targets ``t (1 - s) + s / 2``.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.
    """

    spec = LossSpec(
        kind='category', paper='textbook (binary and softmax)', page='cross_entropy',
        use='two-stage RoI heads (softmax); the "CE" baseline of dense heads (binary)',
        summary='softmax over C+1 logits, or binary with `use_sigmoid=True`',
        namesake='same', presets=(
            Preset('bce', dict(use_sigmoid=True),
                   'Binary cross-entropy over C sigmoid logits: the focal loss at '
                   'gamma=0 without alpha, the "CE" baseline of the RetinaNet paper '
                   '(all anchors, normalised by the number of positives, '
                   'prior-probability init of the head).'),
            Preset('ce', dict(use_sigmoid=False),
                   'Softmax cross-entropy over C + 1 logits (the last one is '
                   'background): use_sigmoid=False makes the head predict C + 1 '
                   'channels.', file='softmax-ce')))

    def __init__(self,
                 use_sigmoid: bool = False,
                 use_mask: bool = False,
                 class_weight: Union[None, Sequence[float], Tensor] = None,
                 ignore_index: Optional[int] = None,
                 avg_non_ignore: bool = False,
                 label_smoothing: float = 0.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(use_sigmoid, False, reduction, loss_weight)
        if use_mask and self.use_sigmoid:
            raise ValueError('use_mask=True is a binary loss on each RoI\'s label map '
                             'and needs use_sigmoid=False (as in MMDetection), got '
                             f'use_sigmoid={use_sigmoid!r}')
        self.use_mask = bool(use_mask)
        self.ignore_index = _check_ignore_index(ignore_index)
        self.avg_non_ignore = bool(avg_non_ignore)
        self.label_smoothing = check_number('label_smoothing', label_smoothing,
                                            0.0, 1.0, high_open=True)
        self.register_buffer('class_weight', check_class_weight(class_weight),
                             persistent=False)

    def loss_kwargs(self):
        return {'use_sigmoid': self.use_sigmoid, 'use_mask': self.use_mask,
                'ignore_index': self.ignore_index,
                'label_smoothing': self.label_smoothing}

    def _class_weight(self, pred: Tensor, num_classes: int) -> Optional[Tensor]:
        if self.class_weight is None:
            return None
        if len(self.class_weight) != num_classes:
            raise ValueError(f'class_weight must have {num_classes} entries for pred '
                             f'of shape {tuple(pred.shape)}, got '
                             f'{len(self.class_weight)}')
        return self.class_weight.to(pred.dtype)

    def weighted_loss(self, pred, target, weight, reduction, avg_factor,
                      ignore_index: Optional[int] = None):
        ignore_index = _check_ignore_index(ignore_index, 'ignore_index (call)')
        if ignore_index is None:
            ignore_index = DEFAULT_IGNORE_INDEX if self.ignore_index is None \
                else self.ignore_index
        options = dict(ignore_index=ignore_index, avg_non_ignore=self.avg_non_ignore)
        fused = partial(sigmoid_focal_loss_sum, gamma=0.0, alpha=None)
        if self.use_mask:
            # The mask heads pass the RoIs' labels where other heads pass weights.
            labels = weight
            maps = select_label_maps(pred, labels, self.data_check_due(pred))
            class_weight = self._class_weight(pred, pred.shape[1])
            roi_weight = None if class_weight is None else class_weight[labels.long()]
            return self.binary(binary_cross_entropy, fused, maps, target, roi_weight,
                               reduction, avg_factor, **options,
                               label_smoothing=self.label_smoothing)
        num_classes = pred.shape[-1] if pred.dim() else 1
        class_weight = self._class_weight(pred, num_classes)
        if self.use_sigmoid:
            return self.binary(binary_cross_entropy, fused, pred, target, weight,
                               reduction, avg_factor, **options,
                               class_weight=class_weight,
                               label_smoothing=self.label_smoothing)
        elementwise = partial(softmax_cross_entropy, class_weight=class_weight,
                              label_smoothing=self.label_smoothing)
        return self.softmax(elementwise, pred, target, weight, reduction, avg_factor,
                            **options)


def _check_ignore_index(value, name: str = 'ignore_index') -> Optional[int]:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f'{name} must be None or an int, got {value!r}')
    return value


@MODELS.register_module()
class FocalLoss(CategoryLoss):
    r"""Focal Loss (Lin et al., arXiv 1708.02002), sigmoid or softmax.

    .. math:: FL(p_t) = -\alpha_t (1 - p_t)^{\gamma} \log(p_t)

    Soft targets use ``q = p (1 - t) + (1 - p) t`` for ``1 - p_t`` (MMDetection's
    form; see :func:`~mmdet_losses.functional.sigmoid_focal_loss`).

    Args:
        use_sigmoid: ``True``: sigmoid focal over ``C`` logits, labels as in
            :class:`CrossEntropyLoss` with ``use_sigmoid=True``, ``'none'`` gives
            ``(N, C)``. ``False``: softmax focal over ``C + 1`` logits (last =
            background), label -100 ignored, ``'none'`` gives ``(N,)``.
        gamma: focusing parameter, ``>= 0``; 0 gives alpha-balanced cross-entropy.
        alpha: sigmoid: weight of positives in ``[0, 1]`` (negatives get
            ``1 - alpha``), ``None`` to disable. Softmax: ``None``, a float
            (``alpha`` for foreground classes, ``1 - alpha`` for background) or a
            list of ``C + 1`` per-class weights.
        activated: ``pred`` holds probabilities instead of logits.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.
    """

    spec = LossSpec(
        kind='category', paper='Lin et al., ICCV 2017, arXiv 1708.02002',
        page='focal', use='dense one-stage heads: RetinaNet, FCOS, ATSS',
        summary='sigmoid, and softmax with `use_sigmoid=False`', namesake='same',
        presets=(
            Preset('focal', dict(use_sigmoid=True, gamma=2.0, alpha=0.25),
                   'Sigmoid focal loss (Lin et al., arXiv:1708.02002): C sigmoid '
                   'logits, the RetinaNet/FCOS default. gamma=2, alpha=0.25 as in the '
                   'paper.'),
            Preset('softmax-focal', dict(use_sigmoid=False, gamma=2.0, alpha=0.25),
                   'Softmax focal loss over C + 1 logits (the last one is background): '
                   'the multi-class form in the focal-loss paper; use_sigmoid=False '
                   'makes the head predict C + 1 channels. gamma=2, alpha=0.25 as the '
                   'sigmoid form.')))

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
        hyper = dict(gamma=self.gamma, alpha=self.alpha)
        if self.use_sigmoid:
            elementwise = partial(sigmoid_focal_loss, activated=self.activated)
            return self.binary(elementwise, sigmoid_focal_loss_sum, pred, target,
                               weight, reduction, avg_factor, **hyper)
        elementwise = partial(softmax_focal_loss, activated=self.activated, **hyper)
        return self.softmax(elementwise, pred, target, weight, reduction, avg_factor,
                            ignore_index=DEFAULT_IGNORE_INDEX)
