"""Coordinate-wise location losses: L1, L2 (squared error) and Smooth L1.

All take ``pred`` and ``target`` of the same shape (``(N, 4)`` boxes or deltas) and
return the element-wise loss of that shape.
"""
import torch
from torch import Tensor

from .validation import check_number, check_same_shape

# Below this beta, Smooth L1 is computed as L1 (see smooth_l1_loss).
SMOOTH_L1_MIN_BETA = 1e-5


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise absolute error.

    .. math:: \\ell = |x - y|

    Args:
        pred: ``(*)`` prediction.
        target: ``(*)`` target, same shape.

    Returns:
        ``(*)`` loss.
    """
    check_same_shape(pred, target)
    return (pred - target).abs()


def l2_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise squared error (MMDetection's ``MSELoss``).

    .. math:: \\ell = (x - y)^2

    Args:
        pred: ``(*)`` prediction.
        target: ``(*)`` target, same shape.

    Returns:
        ``(*)`` loss.
    """
    check_same_shape(pred, target)
    return (pred - target).pow(2)


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise Smooth L1 (Huber loss divided by ``beta``; Fast R-CNN).

    .. math::
        \\ell = \\begin{cases} 0.5\\,n^2 / \\beta & n < \\beta \\\\
                              n - 0.5\\,\\beta & \\text{otherwise}\\end{cases},
        \\quad n = |x - y|

    As ``beta -> 0`` it becomes L1; as ``beta -> inf`` it tends to a constant 0 (the
    quadratic branch shrinks like ``1 / beta``), unlike Huber, which tends to L2.

    Args:
        pred: ``(*)`` prediction.
        target: ``(*)`` target, same shape.
        beta: ``>= 0``, the point where the quadratic branch meets the linear one.

    Returns:
        ``(*)`` loss.

    Note:
        For ``beta < 1e-5`` the loss is exactly L1. With ``beta == 0`` the quadratic
        branch divides by zero, and although ``torch.where`` never selects it, its
        gradient is still propagated as ``0 * inf = NaN``; tiny betas are the same
        loss to within rounding, so L1 is used for them too.
    """
    check_same_shape(pred, target)
    check_number('beta', beta, low=0.0)
    diff = (pred - target).abs()
    if beta < SMOOTH_L1_MIN_BETA:
        return diff
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
