"""Coordinate-wise location losses: L1, L2 (squared error), Smooth L1 and Balanced L1.

All take ``pred`` and ``target`` of the same shape (``(N, 4)`` boxes or deltas) and
return the element-wise loss of that shape. They follow the dtype rules of
:mod:`~mmdet_losses.functional.dtypes`: computed in float32 (float64 for float64 input), returned in the
input's floating dtype, float32 for integer input (so the mean of integer boxes is
not truncated).
"""
import math

import torch
from torch import Tensor

from ..dtypes import output_dtype, upcast_pair
from ..validation import check_number, check_same_shape

__all__ = ['l1_loss', 'l2_loss', 'smooth_l1_loss', 'balanced_l1_loss']

# Below this beta, Smooth L1 is computed as L1 (see smooth_l1_loss).
SMOOTH_L1_MIN_BETA = 1e-5


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    r"""Element-wise absolute error.

    .. math:: \ell = |x - y|

    Args:
        pred: ``(*)`` prediction.
        target: ``(*)`` target, same shape.

    Returns:
        ``(*)`` loss.
    """
    wide_pred, wide_target = upcast_coordinates(pred, target)
    return (wide_pred - wide_target).abs().to(output_dtype(pred))


def l2_loss(pred: Tensor, target: Tensor) -> Tensor:
    r"""Element-wise squared error (MMDetection's ``MSELoss``).

    .. math:: \ell = (x - y)^2

    Args:
        pred: ``(*)`` prediction.
        target: ``(*)`` target, same shape.

    Returns:
        ``(*)`` loss.
    """
    wide_pred, wide_target = upcast_coordinates(pred, target)
    return (wide_pred - wide_target).pow(2).to(output_dtype(pred))


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    r"""Element-wise Smooth L1 (Huber loss divided by ``beta``; Fast R-CNN).

    .. math::
        \ell = \begin{cases} 0.5\,n^2 / \beta & n < \beta \\
                              n - 0.5\,\beta & \text{otherwise}\end{cases},
        \quad n = |x - y|

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
    check_number('beta', beta, low=0.0)
    wide_pred, wide_target = upcast_coordinates(pred, target)
    diff = (wide_pred - wide_target).abs()
    if beta >= SMOOTH_L1_MIN_BETA:
        diff = torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)
    return diff.to(output_dtype(pred))


def balanced_l1_loss(pred: Tensor, target: Tensor, alpha: float = 0.5,
                     gamma: float = 1.5, beta: float = 1.0) -> Tensor:
    r"""Element-wise Balanced L1 loss (Pang et al., Libra R-CNN, CVPR 2019, arXiv
    1904.02701).

    .. math::
        \ell = \begin{cases}
            \frac{\alpha}{b}(b n + 1) \ln\big(\frac{b n}{\beta} + 1\big)
            - \alpha n & n < \beta \\
            \gamma n + \frac{\gamma}{b} - \alpha \beta & \text{otherwise}
        \end{cases}, \quad n = |x - y|, \quad \alpha \ln(b + 1) = \gamma

    The paper's gradient ``alpha ln(b n + 1)`` (for ``beta = 1``) raises the
    gradient of inliers (``n < beta``) above L1's balance with the outliers, whose
    gradient is capped at ``gamma``; ``b = e^{gamma / alpha} - 1`` makes both
    branches meet at ``beta``. The paper fixes ``beta = 1``; ``n / beta`` inside the
    log is MMDetection's generalisation, followed here (the two branches then meet
    in value at ``beta`` but, for ``beta != 1``, not in slope).

    Args:
        pred: ``(*)`` prediction.
        target: ``(*)`` target, same shape.
        alpha: ``> 0``, the inliers' gradient scale (paper: 0.5).
        gamma: ``> 0``, the outliers' gradient (paper: 1.5).
        beta: ``> 0``, where the branches meet.

    Returns:
        ``(*)`` loss, equal to MMDetection's ``balanced_l1_loss`` in value and
        gradient. Unlike it, the unselected log branch is evaluated at
        ``min(n, beta)``, so a large error (``b n`` overflows float16 from
        ``n = 3431``) cannot turn its zero gradient into ``0 * inf = NaN``.
    """
    check_number('alpha', alpha, low=0.0, low_open=True)
    check_number('gamma', gamma, low=0.0, low_open=True)
    check_number('beta', beta, low=0.0, low_open=True)
    wide_pred, wide_target = upcast_coordinates(pred, target)
    diff = (wide_pred - wide_target).abs()
    b = math.exp(gamma / alpha) - 1
    inlier = diff.clamp(max=beta)
    log_branch = alpha / b * (b * inlier + 1) * torch.log1p(b * inlier / beta) \
        - alpha * inlier
    loss = torch.where(diff < beta, log_branch, gamma * diff + gamma / b - alpha * beta)
    return loss.to(output_dtype(pred))


def upcast_coordinates(pred: Tensor, target: Tensor):
    """Check equal shapes; return both in the compute dtype."""
    check_same_shape(pred, target)
    return upcast_pair(pred, target)
