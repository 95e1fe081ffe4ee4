"""Registered Distribution Focal Loss (GFL, Li et al., arXiv 2006.04388), with
MMDetection's name and arguments: a box side predicted as a distribution over bins."""
from torch import Tensor

from ..functional.location.distribution import distribution_focal_loss
from ..registry import MODELS
from ..spec import LossSpec
from .base import BaseLoss


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

    spec = LossSpec(
        kind='distribution', paper='Li et al., GFL, NeurIPS 2020, arXiv 2006.04388',
        page='dfl', use='box sides as distributions (GFL, RTMDet-style heads)',
        namesake='same')

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
