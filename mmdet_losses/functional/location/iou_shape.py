r"""The IoU losses with a shape cost: SCYLLA-IoU and Shape-IoU, on the one geometry
core (:mod:`.geometry`).

Both add to ``1 - IoU`` a distance cost and the shape cost of :func:`shape_cost` (SIoU
its own, Shape-IoU weighted by the target's shape), take the Alpha-IoU power
``alpha`` and the Inner-IoU / Focaler-IoU modifiers (:mod:`.modifiers`). Boxes are
``(N, 4)`` (or ``(*, 4)``) x1y1x2y2; every function returns the element-wise loss
``(N,)`` in ``pred``'s dtype (float32 for integer boxes).
"""
from typing import Optional

import torch
from torch import Tensor

from ..dtypes import output_dtype
from .geometry import BOX_EPS, aligned_box_terms, upcast_boxes
from .modifiers import iou_family_form, with_iou_modifiers

__all__ = ['siou_loss', 'shape_iou_loss']


def shape_cost(pred_size: Tensor, target_size: Tensor, theta: float,
               eps: float = BOX_EPS, weight: Optional[Tensor] = None) -> Tensor:
    r"""SIoU's shape cost of one side, ``(*)``.

    .. math::
        (1 - e^{-\omega})^{\theta}, \quad
        \omega = \frac{u\, |s - s^{gt}|}{\max(s, s^{gt}) + \epsilon}

    with ``s, s^gt`` the predicted and target sizes along the side and ``u`` its
    ``weight`` (1 for SIoU; Shape-IoU's ``hh`` or ``ww``)."""
    gap = (pred_size - target_size).abs()
    if weight is not None:
        gap = weight * gap
    omega = gap / (torch.maximum(pred_size, target_size) + eps)
    return (1 - torch.exp(-omega))**theta


@with_iou_modifiers
def siou_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS, alpha: float = 1.0,
              theta: float = 4.0) -> Tensor:
    r"""SCYLLA-IoU loss (Gevorgyan, arXiv 2205.12740).

    .. math::
        L = 1 - IoU + \frac{\Delta + \Omega}{2}, \quad
        \Lambda = \sin 2\beta = \frac{2 |s_x s_y|}{s_x^2 + s_y^2 + \epsilon},

        \Delta = \sum_{t \in \{x, y\}} 1 - e^{-(2 - \Lambda) (s_t / c_t)^2},
        \quad \Omega = \sum_{t \in \{w, h\}} (1 - e^{-\omega_t})^{\theta},
        \quad \omega_w = \frac{|w - w^{gt}|}{\max(w, w^{gt}) + \epsilon}

    with ``(s_x, s_y)`` the offset between the centres, ``beta`` its angle to the
    nearer axis and ``c_x, c_y`` the enclosing box's size. The paper's angle cost
    ``1 - 2 sin^2(arcsin(sin beta) - pi/4)`` equals ``sin 2 beta``, written here
    without ``arcsin``, whose gradient is infinite at 1.

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: added to every denominator.
        alpha: Alpha-IoU power (applied to the penalty as a whole).
        theta: shape-cost exponent (paper: 4, its range 2 to 6).

    Returns:
        ``(N,)`` loss. MMDetection clamps ``SIoU`` to ``[-1, 1]`` before ``1 - SIoU``;
        this one does not (the clamp would zero the gradient of far boxes).
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    offset_x = terms.target_cx - terms.pred_cx
    offset_y = terms.target_cy - terms.pred_cy
    angle = 2 * (offset_x * offset_y).abs() / (offset_x**2 + offset_y**2 + eps)
    rate = 2 - angle
    distance = (1 - torch.exp(-rate * (offset_x / (terms.enclose_w + eps))**2)) + \
        (1 - torch.exp(-rate * (offset_y / (terms.enclose_h + eps))**2))
    shape = shape_cost(terms.pred_w, terms.target_w, theta, eps) + \
        shape_cost(terms.pred_h, terms.target_h, theta, eps)
    loss = iou_family_form(terms.iou, alpha, (distance + shape) * 0.5)
    return loss.to(output_dtype(pred))


@with_iou_modifiers
def shape_iou_loss(pred: Tensor, target: Tensor, scale: float = 0.0,
                   theta: float = 4.0, eps: float = BOX_EPS,
                   alpha: float = 1.0) -> Tensor:
    r"""Shape-IoU loss (Zhang & Zhang, arXiv 2312.17663).

    .. math::
        L = 1 - IoU + D^{shape} + \tfrac{1}{2} \Omega^{shape}, \quad
        ww = \frac{2 (w^{gt})^s}{(w^{gt})^s + (h^{gt})^s}, \quad
        hh = \frac{2 (h^{gt})^s}{(w^{gt})^s + (h^{gt})^s},

        D^{shape} = \frac{hh (x_c - x_c^{gt})^2 + ww (y_c - y_c^{gt})^2}
                         {c^2 + \epsilon}, \quad
        \Omega^{shape} = \sum_{t \in \{w, h\}} (1 - e^{-\omega_t})^{\theta},
        \quad \omega_w = hh \frac{|w - w^{gt}|}{\max(w, w^{gt}) + \epsilon},
        \quad \omega_h = ww \frac{|h - h^{gt}|}{\max(h, h^{gt}) + \epsilon}

    The weights ``ww, hh`` come from the target's shape: an offset along a target's
    short side costs more. ``s = scale`` relates to the size of the dataset's
    targets (``s = 0``: ``ww = hh = 1``, SIoU-like shape cost, DIoU-like distance).

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        scale: ``s >= 0``; target sides below ``eps`` count as ``eps`` in
            ``(w^gt)^s`` (a finite gradient for zero-area targets).
        theta: shape-cost exponent (paper: 4, as SIoU's; the official code fixes 4).
        eps: added to every denominator.
        alpha: Alpha-IoU power (distance and half shape cost raised on their own).

    Returns:
        ``(N,)`` loss. Nothing is held constant for the gradient; ``ww`` and ``hh``
        depend on the target only.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    if scale == 0:
        ww = hh = 1.0
    else:
        width_power = terms.target_w.clamp(min=eps).pow(scale)
        height_power = terms.target_h.clamp(min=eps).pow(scale)
        ww = 2 * width_power / (width_power + height_power)
        hh = 2 * height_power / (width_power + height_power)
    distance = (hh * (terms.pred_cx - terms.target_cx)**2 +
                ww * (terms.pred_cy - terms.target_cy)**2) / \
        (terms.enclose_diag_sq + eps)
    shape = shape_cost(terms.pred_w, terms.target_w, theta, eps, hh) + \
        shape_cost(terms.pred_h, terms.target_h, theta, eps, ww)
    return iou_family_form(terms.iou, alpha, distance, shape / 2).to(output_dtype(pred))
