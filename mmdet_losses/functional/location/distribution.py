r"""Distribution Focal Loss (Li et al., "Generalized Focal Loss", NeurIPS 2020, arXiv
2006.04388, GFL), element-wise: a box side predicted as a discrete distribution over
``n + 1`` bins, trained towards the two bins around the target distance.
"""
import torch.nn.functional as F
from torch import Tensor

from ..dtypes import upcast

__all__ = ['distribution_focal_loss']


def dfl_bins(target: Tensor, num_bins: int):
    """The two bins around each target and their weights.

    ``left = min(floor(y), n - 1)``, ``right = left + 1``, ``w_left = right - y``,
    ``w_right = y - left``: a target of exactly ``n`` (the last bin) gets bins
    ``n - 1`` and ``n`` with weights 0 and 1 instead of indexing bin ``n + 1``.
    """
    last = num_bins - 1
    left = target.detach().floor().clamp(min=0, max=last - 1).long()
    w_left = (left + 1).to(target.dtype) - target
    return left, left + 1, w_left, 1 - w_left


def distribution_focal_loss(pred: Tensor, target: Tensor) -> Tensor:
    r"""Distribution Focal Loss (GFL, eq. 6), per distribution.

    .. math::
        DFL(S_i, S_{i+1}) = -\big((y_{i+1} - y) \log S_i + (y - y_i) \log S_{i+1}\big)

    with ``S = softmax(pred)`` over the ``n + 1`` bins ``0, 1, ..., n`` and
    ``y_i <= y <= y_{i+1}`` the two bins around the target.

    Args:
        pred: ``(N, n + 1)`` logits of the discretised distribution (``n >= 1``).
        target: ``(N,)`` float distances in bin units, in ``[0, n]``.

    Returns:
        ``(N,)`` loss in ``pred``'s dtype.

    Note:
        A target of exactly ``n`` uses bins ``n - 1`` and ``n`` with weights 0 and 1,
        i.e. ``-log S_n``, the limit from below. MMDetection's function indexes bin
        ``n + 1`` there (its GFL head clamps targets to ``n - 0.01`` first).
    """
    x = upcast(pred)
    y = target.to(x.dtype)
    log_p = F.log_softmax(x, dim=-1)
    left, right, w_left, w_right = dfl_bins(y, x.shape[-1])
    loss = -(log_p.gather(-1, left[..., None]).squeeze(-1) * w_left
             + log_p.gather(-1, right[..., None]).squeeze(-1) * w_right)
    return loss.to(pred.dtype)
