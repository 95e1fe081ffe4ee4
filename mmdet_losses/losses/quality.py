"""Registered quality-aware losses: ``QualityFocalLoss``, ``VarifocalLoss`` (category)
and ``DistributionFocalLoss`` (box distributions), with MMDetection's names and
arguments."""
from functools import partial

from torch import Tensor

from ..functional.category.quality import quality_focal_loss, varifocal_loss
from ..functional.fused.quality import quality_focal_loss_sum, varifocal_loss_sum
from ..functional.location.distribution import distribution_focal_loss
from ..functional.validation import check_number
from ..registry import MODELS
from .base import BaseLoss
from .classification import CategoryLoss


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
class DistributionFocalLoss(BaseLoss):
    """Distribution Focal Loss (GFL, Li et al., arXiv 2006.04388), see
    :func:`~mmdet_losses.functional.distribution_focal_loss`.

    ``pred`` ``(N, n + 1)`` logits over the bins ``0..n``; ``target`` ``(N,)`` float
    distances in bin units in ``[0, n]``; ``weight`` ``(N,)``; ``'none'`` gives
    ``(N,)``. A target of exactly ``n`` is the last bin (MMDetection's function would
    index bin ``n + 1``; its GFL head clamps targets to ``n - 0.01`` first). Targets
    outside ``[0, n]`` raise (checked on every CPU call and on the first call on an
    accelerator).
    """

    element_dims = 1
    loss_fn = staticmethod(distribution_focal_loss)

    def weighted_loss(self, pred, target, weight, reduction, avg_factor):
        _check_distribution(pred, target, self.data_check_due(pred))
        return super().weighted_loss(pred, target, weight, reduction, avg_factor)


def _check_distribution(pred: Tensor, target: Tensor, check_range: bool) -> None:
    if pred.dim() != 2 or pred.shape[1] < 2:
        raise ValueError('DistributionFocalLoss: pred must have shape (N, n + 1) with '
                         f'n >= 1, got {tuple(pred.shape)}')
    if target.shape != pred.shape[:1] or not target.is_floating_point():
        raise ValueError('DistributionFocalLoss: target must be a float tensor of '
                         f'shape (N,) = ({pred.shape[0]},), got {target.dtype} '
                         f'{tuple(target.shape)}')
    if target.numel() and check_range:
        last = pred.shape[1] - 1
        low, high = (float(v) for v in target.detach().aminmax())
        if not (0 <= low and high <= last):
            bad = low if not 0 <= low else high
            raise ValueError(f'DistributionFocalLoss: target must lie in [0, {last}] '
                             f'(n = pred.shape[1] - 1), got {bad}')

