"""The one geometry core of the IoU-family losses.

:func:`aligned_box_terms` computes, once, every quantity that IoU, GIoU, DIoU, CIoU,
EIoU, SIoU, WIoU, NWD, MPDIoU, Shape-IoU and PIoU are built from, for aligned pairs of
boxes in ``(x1, y1, x2, y2)`` format; :func:`modified_iou` is the one place where
Inner-IoU's auxiliary boxes and Focaler-IoU's linear interval mapping change the IoU.
Numerics, for every pair of boxes including zero-area, inverted (``x2 < x1``),
coincident, disjoint, nested and huge ones:

* widths, heights and the overlap are clamped at 0 with ``clamp(min=0)`` (an inverted
  box has zero area, and no mask assignment breaks the graph); the enclosing box
  spans all four coordinates of each box, so it always holds both centres;
* every denominator carries ``eps``;
* half-precision inputs are upcast to float32 once, here (image-scale coordinates
  overflow float16 when squared or multiplied); losses cast their result back.
"""
import math
from numbers import Real
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .dtypes import compute_dtype
from .validation import check_number, check_same_shape


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


def upcast_boxes(pred: Tensor, target: Tensor):
    """Check ``(*, 4)`` shapes and return both boxes in float32 or float64."""
    check_same_shape(pred, target, 'pred and target boxes')
    if pred.shape[-1:] != (4, ):
        raise ValueError('boxes must have shape (*, 4) in (x1, y1, x2, y2) format, '
                         f'got {tuple(pred.shape)}')
    dtype = compute_dtype(pred)
    return pred.to(dtype), target.to(dtype)


def aligned_box_terms(pred: Tensor, target: Tensor, eps: float = 1e-6) -> BoxTerms:
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


# ------------------------------------------------------- Inner-IoU and Focaler-IoU
#: CIoU's ``4 / pi^2``: ``v = ASPECT_FACTOR * aspect_angle_gap(terms)^2`` in [0, 1).
ASPECT_FACTOR = 4 / math.pi**2


def aspect_angle_gap(terms: BoxTerms, eps: float = 1e-6) -> Tensor:
    r"""CIoU's angle gap ``atan(r^gt) - atan(r)``, ``r = w / (h + eps)``, with one
    ``atan``:

    .. math::
        \arctan r^{gt} - \arctan r = \arctan \frac{r^{gt} - r}{1 + r^{gt} r}

    exact for ``r, r^gt >= 0`` (sizes are clamped at 0 by the geometry core, so
    ``1 + r^{gt} r >= 1`` and the gap lies in ``(-pi/2, pi/2)``, where the
    subtraction formula of ``tan`` holds). Its derivative in ``r`` is
    ``-1 / (1 + r^2)``, as for the two-``atan`` form, and autograd's gradient
    through it has no cancellation at point boxes (``w = 0`` gives ``dr/dh = 0``
    exactly). Needs ``eps > 0`` for a zero height, as every ratio of the family.
    ``(N,)``."""
    ratio_gt = terms.target_w / (terms.target_h + eps)
    ratio = terms.pred_w / (terms.pred_h + eps)
    return torch.atan((ratio_gt - ratio) / (1 + ratio_gt * ratio))


def check_iou_modifiers(inner_ratio: Optional[float],
                        focaler_range: Optional[Sequence[float]]
                        ) -> Tuple[Optional[float], Optional[Tuple[float, float]]]:
    """Validate the two IoU modifiers of :func:`modified_iou`.

    Returns:
        ``inner_ratio`` as a float (``> 0``) or ``None``; ``focaler_range`` as a pair
        of floats ``(d, u)`` with ``0 <= d < u <= 1``, or ``None``.
    """
    if inner_ratio is not None:
        inner_ratio = check_number('inner_ratio', inner_ratio, low=0.0, low_open=True)
    if focaler_range is not None:
        pair = not isinstance(focaler_range, (str, bytes)) \
            and isinstance(focaler_range, Sequence) and len(focaler_range) == 2 \
            and all(isinstance(v, Real) and not isinstance(v, bool)
                    for v in focaler_range)
        if not pair or not 0 <= focaler_range[0] < focaler_range[1] <= 1:
            shown = tuple(focaler_range) if pair else focaler_range
            raise ValueError('focaler_range must be a pair (d, u) of numbers with '
                             f'0 <= d < u <= 1, got {shown!r}')
        focaler_range = (float(focaler_range[0]), float(focaler_range[1]))
    return inner_ratio, focaler_range


def scale_boxes(boxes: Tensor, ratio: float) -> Tensor:
    """Boxes scaled by ``ratio`` about their centres (Inner-IoU's auxiliary boxes).

    Args:
        boxes: ``(*, 4)`` x1y1x2y2; an inverted side counts as size 0.
        ratio: ``> 0``.

    Returns:
        ``(*, 4)`` boxes of the same centres and ``ratio`` times the sizes.
    """
    x1, y1, x2, y2 = boxes.unbind(-1)
    half_w = (x2 - x1).clamp(min=0) * (ratio / 2)
    half_h = (y2 - y1).clamp(min=0) * (ratio / 2)
    cx, cy = (x1 + x2) * 0.5, (y1 + y2) * 0.5
    return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)


def modified_iou(pred: Tensor, target: Tensor, eps: float = 1e-6,
                 inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Tuple[float, float]] = None
                 ) -> Tuple[Tensor, Tensor]:
    r"""The IoU and its Inner-IoU / Focaler-IoU modification.

    .. math::
        IoU^{inner} = IoU(B_r, B^{gt}_r), \quad
        IoU^{focaler} = \min\Big(1, \max\Big(0, \frac{IoU - d}{u - d}\Big)\Big)

    ``B_r``: ``B`` scaled by ``r = inner_ratio`` about its centre (Zhang et al.,
    Inner-IoU, arXiv 2311.02877; ``r < 1`` for high-IoU samples, ``r > 1`` for
    low-IoU ones). ``(d, u) = focaler_range`` (Zhang & Zhang, Focaler-IoU, arXiv
    2401.10525; raising ``d`` drops the IoU gradient of poor matches and shifts the
    focus to easier samples, lowering ``u`` drops that of near-perfect ones and
    shifts it to harder samples). Together, the inner IoU is mapped by the Focaler interval:
    ``IoU_mod = focaler(IoU_inner)``. The mapping is piecewise linear: its gradient
    is 0 outside ``[d, u]``.

    Args:
        pred, target: ``(*, 4)`` boxes, float32/float64 (see :func:`upcast_boxes`).
        eps: added to the union.
        inner_ratio: ``None`` (no auxiliary boxes) or ``> 0``.
        focaler_range: ``None`` (identity) or ``(d, u)``, ``0 <= d < u <= 1``.

    Returns:
        ``(iou, iou_mod)``, each ``(*)``.
    """
    iou = aligned_box_terms(pred, target, eps).iou
    modified = iou
    if inner_ratio is not None:
        modified = aligned_box_terms(scale_boxes(pred, inner_ratio),
                                     scale_boxes(target, inner_ratio), eps).iou
    if focaler_range is not None:
        low, high = focaler_range
        modified = ((modified - low) / (high - low)).clamp(0, 1)
    return iou, modified
