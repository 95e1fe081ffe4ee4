"""The one geometry core of the box losses.

:func:`aligned_box_terms` computes, once, every quantity that IoU, GIoU, DIoU, CIoU,
EIoU, SIoU, WIoU, NWD, MPDIoU, Shape-IoU and PIoU are built from, for aligned pairs of
boxes in ``(x1, y1, x2, y2)`` format (the IoU modifiers are :mod:`.modifiers`, the
gradient of this geometry ``fused/geometry_backward.py``).
Numerics, for every pair of boxes including zero-area, inverted (``x2 < x1``),
coincident, disjoint, nested and huge ones:

* widths, heights and the overlap are clamped at 0 with ``clamp(min=0)`` (an inverted
  box has zero area, and no mask assignment breaks the graph); the enclosing box
  spans all four coordinates of each box, so it always holds both centres;
* every denominator carries ``eps``;
* half-precision inputs are upcast to float32 once, here (image-scale coordinates
  overflow float16 when squared or multiplied); losses cast their result back.
"""
from typing import NamedTuple, Tuple

import torch
from torch import Tensor

from ..dtypes import upcast_pair
from ..validation import check_same_shape

__all__ = ['BoxTerms', 'aligned_box_terms']

#: The default ``eps`` of every box loss: added to every denominator.
BOX_EPS = 1e-6


class BoxTerms(NamedTuple):
    """Aligned geometry of ``pred`` and ``target`` boxes, each ``(*)``.

    Attributes:
        pred_w, pred_h, target_w, target_h: box sizes, ``>= 0``.
        pred_cx, pred_cy, target_cx, target_cy: box centres.
        inter: intersection area.
        union: union area.
        iou: ``inter / (union + eps)``.
        enclose_w, enclose_h: size of the smallest enclosing box.
        enclose_area: its area.
        center_dist_sq: squared distance of the centres, ``rho^2``.
        enclose_diag_sq: squared diagonal of the enclosing box, ``c^2``.
    """
    pred_w: Tensor
    pred_h: Tensor
    target_w: Tensor
    target_h: Tensor
    pred_cx: Tensor
    pred_cy: Tensor
    target_cx: Tensor
    target_cy: Tensor
    inter: Tensor
    union: Tensor
    iou: Tensor
    enclose_w: Tensor
    enclose_h: Tensor
    enclose_area: Tensor
    center_dist_sq: Tensor
    enclose_diag_sq: Tensor


def upcast_boxes(pred: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
    """Check ``(*, 4)`` shapes and return both boxes in float32 or float64."""
    check_same_shape(pred, target, 'pred and target boxes')
    if pred.shape[-1:] != (4, ):
        raise ValueError('boxes must have shape (*, 4) in (x1, y1, x2, y2) format, '
                         f'got {tuple(pred.shape)}')
    return upcast_pair(pred, target)


def aligned_box_terms(pred: Tensor, target: Tensor, eps: float = BOX_EPS) -> BoxTerms:
    r"""Geometry of aligned box pairs.

    .. math::
        IoU = \frac{|B \cap B^{gt}|}{|B \cup B^{gt}| + \epsilon}, \quad
        \rho^2 = \lVert b - b^{gt} \rVert^2, \quad c^2 = c_w^2 + c_h^2

    Args:
        pred: ``(*, 4)`` predicted boxes, x1y1x2y2 (float32/float64; see
            :func:`upcast_boxes`).
        target: ``(*, 4)`` target boxes, same shape and dtype.
        eps: added to the union.

    Returns:
        :class:`BoxTerms`, every field of shape ``(*)``.
    """
    px1, py1, px2, py2 = pred.unbind(-1)
    tx1, ty1, tx2, ty2 = target.unbind(-1)
    pred_w, pred_h = (px2 - px1).clamp(min=0), (py2 - py1).clamp(min=0)
    target_w, target_h = (tx2 - tx1).clamp(min=0), (ty2 - ty1).clamp(min=0)

    inter_w = (torch.minimum(px2, tx2) - torch.maximum(px1, tx1)).clamp(min=0)
    inter_h = (torch.minimum(py2, ty2) - torch.maximum(py1, ty1)).clamp(min=0)
    inter = inter_w * inter_h
    union = pred_w * pred_h + target_w * target_h - inter
    iou = inter / (union + eps)

    # Over all four coordinates, so that the enclosing box holds both centres (and
    # rho^2 <= c^2) even when a box is inverted; for proper boxes it is the usual one.
    enclose_w = torch.maximum(torch.maximum(px1, px2), torch.maximum(tx1, tx2)) - \
        torch.minimum(torch.minimum(px1, px2), torch.minimum(tx1, tx2))
    enclose_h = torch.maximum(torch.maximum(py1, py2), torch.maximum(ty1, ty2)) - \
        torch.minimum(torch.minimum(py1, py2), torch.minimum(ty1, ty2))

    pred_cx, pred_cy = (px1 + px2) * 0.5, (py1 + py2) * 0.5
    target_cx, target_cy = (tx1 + tx2) * 0.5, (ty1 + ty2) * 0.5
    center_dist_sq = (pred_cx - target_cx)**2 + (pred_cy - target_cy)**2
    return BoxTerms(pred_w, pred_h, target_w, target_h, pred_cx, pred_cy, target_cx,
                    target_cy, inter, union, iou, enclose_w, enclose_h,
                    enclose_w * enclose_h, center_dist_sq,
                    enclose_w**2 + enclose_h**2)


def centre_distance(terms: BoxTerms, eps: float = BOX_EPS) -> Tensor:
    r"""DIoU's normalised centre distance, ``(*)``.

    .. math:: \frac{\rho^2(b, b^{gt})}{c^2 + \epsilon}

    in ``[0, 1)``: the enclosing box holds both centres."""
    return terms.center_dist_sq / (terms.enclose_diag_sq + eps)
