"""Registered quality-aware category losses: ``QualityFocalLoss`` and
``VarifocalLoss``, with MMDetection's names and arguments, and DEIM's
``MatchabilityAwareLoss``; their IoU-quality targets come from the head (GFL, VFNet,
or :mod:`mmdet_losses.models`' quality heads)."""
from functools import partial
from typing import Optional

import torch

from ..functional.category.labels import binary_targets
from ..functional.category.quality import (matchability_aware_loss,
                                           quality_focal_loss, varifocal_loss)
from ..functional.fused.quality import (mal_fused_pays, matchability_aware_loss_sum,
                                       quality_focal_loss_sum, varifocal_loss_sum)
from ..functional.validation import check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .category import CategoryLoss


def _sigmoid_only(name: str, use_sigmoid) -> bool:
    if not use_sigmoid:
        raise ValueError(f'{name} is a sigmoid loss: use_sigmoid must be True, got '
                         f'{use_sigmoid!r}')
    return True


@MODELS.register_module()
class QualityFocalLoss(CategoryLoss):
    """Quality Focal Loss (GFL, Li et al., arXiv 2006.04388), see
    :func:`~mmdet_losses.functional.quality_focal_loss`.

    ``pred`` ``(N, C)`` logits; ``target`` a ``(labels, scores)`` tuple as
    MMDetection's heads pass it (``labels`` ``(N,)`` with ``C`` = background,
    ``scores`` ``(N,)`` the IoU quality of each positive) or an ``(N, C)`` float
    target. ``weight`` ``(N,)`` (or ``(N, C)``); ``'none'`` gives ``(N,)`` summed over
    classes and ``'mean'`` divides by ``N``, as MMDetection's.

    Args:
        use_sigmoid: must be ``True`` (the only form of the paper).
        beta: modulating power, ``>= 0`` (paper: 2).
        activated: ``pred`` holds probabilities.
        reduction, loss_weight: as every loss.
    """

    spec = LossSpec(
        kind='quality', paper='Li et al., GFL, NeurIPS 2020, arXiv 2006.04388',
        page='qfl', use='IoU-quality classification: GFL, quality RetinaNet/FCOS',
        namesake='same', presets=(
            Preset('qfl', dict(use_sigmoid=True, beta=2.0),
                   'Quality Focal Loss (Li et al., GFL, arXiv:2006.04388): sigmoid BCE '
                   "against a soft target, the IoU of each positive's predicted box "
                   'with its ground truth (0 for the rest), scaled by '
                   '|target - p|^beta; beta=2 as in the paper.'), ))

    quality = True
    sum_classes = True

    def __init__(self, use_sigmoid: bool = True, beta: float = 2.0,
                 activated: bool = False, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(_sigmoid_only('QualityFocalLoss', use_sigmoid), activated,
                         reduction, loss_weight)
        self.beta = check_number('beta', beta, low=0.0)

    def loss_kwargs(self):
        return {'beta': self.beta, 'activated': self.activated}

    def weighted_loss(self, pred, target, weight, reduction, avg_factor):
        elementwise = partial(quality_focal_loss, activated=self.activated)
        return self.binary(elementwise, quality_focal_loss_sum, pred, target, weight,
                           reduction, avg_factor, beta=self.beta)


@MODELS.register_module()
class VarifocalLoss(CategoryLoss):
    """Varifocal Loss (VarifocalNet, Zhang et al., arXiv 2008.13367), see
    :func:`~mmdet_losses.functional.varifocal_loss`.

    ``pred`` ``(N, C)`` logits; ``target`` an ``(N, C)`` IoU-aware float target (as
    MMDetection's ``VFNetHead`` passes it) or a ``(labels, scores)`` tuple; ``'none'``
    gives ``(N, C)``.

    Args:
        use_sigmoid: must be ``True``.
        alpha: weight of the negatives, ``>= 0`` (paper: 0.75).
        gamma: power of the negatives' modulating factor, ``>= 0`` (paper: 2).
        iou_weighted: weigh positives by their target ``q`` (paper), else by 1.
        reduction, loss_weight: as every loss.
    """

    spec = LossSpec(
        kind='quality', paper='Zhang et al., VarifocalNet, CVPR 2021, arXiv 2008.13367',
        page='vfl', use='IoU-aware classification: VFNet, quality RetinaNet/FCOS',
        namesake='same', presets=(
            Preset('vfl', dict(use_sigmoid=True, alpha=0.75, gamma=2.0,
                               iou_weighted=True),
                   'Varifocal Loss (Zhang et al., VarifocalNet, arXiv:2008.13367): BCE '
                   'against the IoU target q of each positive, weighted by q '
                   '(iou_weighted), and focal-down-weighted negatives, '
                   'alpha * p^gamma; alpha=0.75, gamma=2 as in the paper.'), ))

    quality = True

    def __init__(self, use_sigmoid: bool = True, alpha: float = 0.75,
                 gamma: float = 2.0, iou_weighted: bool = True,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(_sigmoid_only('VarifocalLoss', use_sigmoid), False,
                         reduction, loss_weight)
        self.alpha = check_number('alpha', alpha, low=0.0)
        self.gamma = check_number('gamma', gamma, low=0.0)
        self.iou_weighted = bool(iou_weighted)

    def loss_kwargs(self):
        return {'alpha': self.alpha, 'gamma': self.gamma,
                'iou_weighted': self.iou_weighted}

    def weighted_loss(self, pred, target, weight, reduction, avg_factor):
        return self.binary(varifocal_loss, varifocal_loss_sum, pred, target, weight,
                           reduction, avg_factor, **self.loss_kwargs())


@MODELS.register_module()
class MatchabilityAwareLoss(CategoryLoss):
    r"""Matchability-Aware Loss (DEIM, Huang et al., arXiv 2412.04234), see
    :func:`~mmdet_losses.functional.matchability_aware_loss`.

    VFL's interface: ``pred`` ``(N, C)`` logits; ``target`` a ``(labels, scores)``
    tuple (``labels`` ``(N,)`` with ``C`` = background, ``scores`` ``(N,)`` the IoU
    of each positive: a positive of IoU 0 stays a positive) or an ``(N, C)`` IoU
    target (an element is positive where it is ``> 0``); ``'none'`` gives
    ``(N, C)``; with ``avg_factor`` the number of matched queries, ``'mean'`` is
    DEIM's normalisation (the sum over queries and classes divided by the number
    of boxes).

    Args:
        use_sigmoid: must be ``True``.
        gamma: the power of the positives' IoU and of the negatives' score, ``>= 0``
            (official code: 1.5).
        alpha: the negatives' weight, ``>= 0``, or ``None`` for 1 (official code's
            ``mal_alpha``, default ``None``).
        reduction, loss_weight: as every loss.
    """

    spec = LossSpec(
        kind='quality',
        paper='Huang et al., DEIM, CVPR 2025, arXiv 2412.04234',
        page='mal',
        use='IoU-aware classification of DETRs (DEIM); quality RetinaNet/FCOS',
        presets=(
            Preset('mal', dict(use_sigmoid=True, gamma=1.5),
                   'Matchability-Aware Loss (Huang et al., DEIM, arXiv:2412.04234): '
                   'BCE against q^gamma at each positive (q its IoU), weight 1 there, '
                   'and p^gamma on every other score; gamma=1.5 and no alpha as in '
                   'the official code.'), ))

    quality = True

    def __init__(self, use_sigmoid: bool = True, gamma: float = 1.5,
                 alpha: Optional[float] = None, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(_sigmoid_only('MatchabilityAwareLoss', use_sigmoid), False,
                         reduction, loss_weight)
        self.gamma = check_number('gamma', gamma, low=0.0)
        self.alpha = None if alpha is None else check_number('alpha', alpha, low=0.0)

    def loss_kwargs(self):
        return {'gamma': self.gamma, 'alpha': self.alpha}

    def weighted_loss(self, pred, target, weight, reduction, avg_factor):
        labels = target[0] if isinstance(target, (tuple, list)) and \
            len(target) == 2 and isinstance(target[0], torch.Tensor) and \
            not target[0].is_floating_point() and pred.dim() == 2 else None

        def elementwise(pred, dense, **hyper):
            # with labels, the label columns are the positives, IoU 0 included; built
            # only on the plain path (the fused one never forms an (N, C) tensor)
            positive = None if labels is None else \
                binary_targets(labels, pred.shape[1], torch.bool)
            return matchability_aware_loss(pred, dense, positive=positive, **hyper)
        fused = matchability_aware_loss_sum if mal_fused_pays(pred.device.type) \
            else None
        return self.binary(elementwise, fused, pred, target, weight, reduction,
                           avg_factor, **self.loss_kwargs())
