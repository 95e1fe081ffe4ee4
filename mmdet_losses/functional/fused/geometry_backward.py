r"""The adjoint of :func:`~mmdet_losses.functional.location.geometry.aligned_box_terms`:
from the gradients of a
loss in the box terms to its gradients in the box coordinates.

The fused IoU-family kernels (:mod:`.iou`) differentiate each loss by hand in
its terms (``IoU``, ``rho^2``, ``c^2``, the sizes, ...; :mod:`.iou_term_grads`) and
then call :func:`aligned_box_terms_backward` once; the chain rule through the
geometry is written here, once, for all of them.

Per axis (``x`` shown; ``y`` is the same with ``h``), with ``p1, p2, t1, t2`` the
coordinates of the two boxes:

.. math::
    w = [p_2 - p_1]_+, \quad
    i_w = [\min(p_2, t_2) - \max(p_1, t_1)]_+, \quad
    C_w = \max(p_1, p_2, t_1, t_2) - \min(p_1, p_2, t_1, t_2), \quad
    o_x = \frac{t_1 + t_2}{2} - \frac{p_1 + p_2}{2}

and ``inter = i_w i_h``, ``union = w h + w^{gt} h^{gt} - inter``,
``IoU = inter / (union + eps)``, ``A_C = C_w C_h``, ``c^2 = C_w^2 + C_h^2``,
``rho^2 = o_x^2 + o_y^2``. Then

.. math::
    \bar{inter} = \frac{\bar{IoU}}{union + \epsilon} - \bar{union}_{tot},
    \quad \bar{union}_{tot} = \bar{union} - \frac{\bar{IoU}\, IoU}
    {union + \epsilon}, \quad
    \bar{w} \mathrel{+}= \bar{union}_{tot}\, h, \quad
    \bar{i}_w = \bar{inter}\, i_h,

    \bar{C}_w \mathrel{+}= \bar{A}_C C_h + 2 C_w \bar{c^2}, \quad
    \bar{o}_x \mathrel{+}= 2 o_x \bar{\rho^2}

and each size passes its gradient to the coordinates it is the difference of.

The kinks are resolved exactly as autograd resolves them in the plain form, so that
the two gradients are equal everywhere, degenerate boxes included:

* ``clamp(min=0)`` passes the gradient where its input is ``>= 0`` (a touching
  pair, ``i_w = 0``, still pulls the boxes together; an inverted box's size gets
  none);
* ``torch.minimum``/``torch.maximum`` of two equal values give each half
  (:func:`max_share`), and the four-coordinate extremes of the enclosing box are
  nested pairs, so a coordinate shared by both boxes gets half, a point box a
  quarter.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from ..location.geometry import BoxTerms

Grad = Optional[Tensor]


class TermGrads(NamedTuple):
    """Gradients of a per-box loss in the box terms, each ``(*)`` or ``None``
    (zero). ``union`` is the direct dependence only (the one through ``iou`` is
    added here); ``offset_x, offset_y`` are ``target centre - pred centre``."""
    iou: Grad = None
    union: Grad = None
    enclose_w: Grad = None
    enclose_h: Grad = None
    enclose_area: Grad = None
    center_dist_sq: Grad = None
    enclose_diag_sq: Grad = None
    pred_w: Grad = None
    pred_h: Grad = None
    target_w: Grad = None
    target_h: Grad = None
    offset_x: Grad = None
    offset_y: Grad = None


def max_share(a: Tensor, b: Tensor) -> Tensor:
    """Share of ``a`` in the gradient of ``torch.maximum(a, b)``: 1, 1/2 at a tie,
    0 (autograd's rule; ``max_share(b, a)`` is ``a``'s share in the minimum)."""
    return torch.where(a == b, 0.5, (a > b).to(a.dtype))


def add(*grads: Grad) -> Grad:
    """Sum of the gradients that are not ``None`` (``None`` if all are)."""
    present = [g for g in grads if g is not None]
    if not present:
        return None
    total = present[0]
    for g in present[1:]:
        total = total + g
    return total


def mul(grad: Grad, factor) -> Grad:
    return None if grad is None else grad * factor


def _axis_backward(p1: Tensor, p2: Tensor, t1: Tensor, t2: Tensor, pred_size: Grad,
                   target_size: Grad, inter_raw: Tensor, inter_size: Grad,
                   enclose: Grad, offset: Grad) -> Tuple[Grad, Grad, Grad, Grad]:
    """Gradients in ``p1, p2, t1, t2`` of one axis from those of the pred and target
    sizes, the overlap ``i``, the enclosing extent ``C`` and the offset ``o``."""
    pred_size = mul(pred_size, p2 - p1 >= 0)
    target_size = mul(target_size, t2 - t1 >= 0)
    inter_size = mul(inter_size, inter_raw >= 0)
    dp1 = dp2 = dt1 = dt2 = None
    if inter_size is not None:
        # i = min(p2, t2) - max(p1, t1)
        p2_share, p1_share = max_share(t2, p2), max_share(p1, t1)
        dp2, dt2 = inter_size * p2_share, inter_size * (1 - p2_share)
        dp1, dt1 = -inter_size * p1_share, -inter_size * (1 - p1_share)
    if enclose is not None:
        # C = max(max(p1, p2), max(t1, t2)) - min(min(p1, p2), min(t1, t2))
        hi_pred = max_share(torch.maximum(p1, p2), torch.maximum(t1, t2))
        lo_pred = max_share(torch.minimum(t1, t2), torch.minimum(p1, p2))
        hi_p1, lo_p1 = max_share(p1, p2), max_share(p2, p1)
        hi_t1, lo_t1 = max_share(t1, t2), max_share(t2, t1)
        g_hi_pred, g_lo_pred = enclose * hi_pred, enclose * lo_pred
        g_hi_target, g_lo_target = enclose - g_hi_pred, enclose - g_lo_pred
        dp1 = add(dp1, g_hi_pred * hi_p1 - g_lo_pred * lo_p1)
        dp2 = add(dp2, g_hi_pred * (1 - hi_p1) - g_lo_pred * (1 - lo_p1))
        dt1 = add(dt1, g_hi_target * hi_t1 - g_lo_target * lo_t1)
        dt2 = add(dt2, g_hi_target * (1 - hi_t1) - g_lo_target * (1 - lo_t1))
    if pred_size is not None:
        dp1, dp2 = add(dp1, -pred_size), add(dp2, pred_size)
    if target_size is not None:
        dt1, dt2 = add(dt1, -target_size), add(dt2, target_size)
    if offset is not None:
        half = offset * 0.5
        dp1, dp2 = add(dp1, -half), add(dp2, -half)
        dt1, dt2 = add(dt1, half), add(dt2, half)
    return dp1, dp2, dt1, dt2


def aligned_box_terms_backward(pred: Tensor, target: Tensor, terms: BoxTerms,
                               grads: TermGrads,
                               eps: float) -> Tuple[Tensor, Tensor]:
    """Chain rule from the term gradients to the coordinates (see module doc).

    Args:
        pred, target: ``(*, 4)`` boxes (already upcast) that ``terms`` came from.
        terms: ``aligned_box_terms(pred, target, eps)``.
        grads: the loss's gradients in the terms.
        eps: the ``eps`` of ``terms``.

    Returns:
        ``(*, 4)`` gradients in ``pred`` and in ``target``.
    """
    px1, py1, px2, py2 = pred.unbind(-1)
    tx1, ty1, tx2, ty2 = target.unbind(-1)
    inter_w_raw = torch.minimum(px2, tx2) - torch.maximum(px1, tx1)
    inter_h_raw = torch.minimum(py2, ty2) - torch.maximum(py1, ty1)

    union = grads.union
    inter = None
    if grads.iou is not None:
        per_union = grads.iou / (terms.union + eps)
        inter = per_union
        union = add(union, -per_union * terms.iou)
    if union is not None:
        inter = add(inter, -union)
    pred_w = add(grads.pred_w, mul(union, terms.pred_h))
    pred_h = add(grads.pred_h, mul(union, terms.pred_w))
    target_w = add(grads.target_w, mul(union, terms.target_h))
    target_h = add(grads.target_h, mul(union, terms.target_w))
    inter_w = mul(inter, inter_h_raw.clamp(min=0))
    inter_h = mul(inter, inter_w_raw.clamp(min=0))
    enclose_w = add(grads.enclose_w, mul(grads.enclose_area, terms.enclose_h),
                    mul(grads.enclose_diag_sq, 2 * terms.enclose_w))
    enclose_h = add(grads.enclose_h, mul(grads.enclose_area, terms.enclose_w),
                    mul(grads.enclose_diag_sq, 2 * terms.enclose_h))
    offset_x, offset_y = grads.offset_x, grads.offset_y
    if grads.center_dist_sq is not None:
        twice = 2 * grads.center_dist_sq
        offset_x = add(offset_x, twice * (terms.target_cx - terms.pred_cx))
        offset_y = add(offset_y, twice * (terms.target_cy - terms.pred_cy))

    dpx1, dpx2, dtx1, dtx2 = _axis_backward(px1, px2, tx1, tx2, pred_w, target_w,
                                            inter_w_raw, inter_w, enclose_w,
                                            offset_x)
    dpy1, dpy2, dty1, dty2 = _axis_backward(py1, py2, ty1, ty2, pred_h, target_h,
                                            inter_h_raw, inter_h, enclose_h,
                                            offset_y)
    zero = torch.zeros_like(px1)

    def stack(*coords):
        return torch.stack([zero if c is None else c for c in coords], dim=-1)

    return stack(dpx1, dpy1, dpx2, dpy2), stack(dtx1, dty1, dtx2, dty2)
