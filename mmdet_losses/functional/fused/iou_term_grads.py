r"""Hand-derived gradients of the IoU-family losses in their box terms.

Each function takes the box terms (:func:`~mmdet_losses.functional.location.geometry.
aligned_box_terms`) and
``g``, the upstream gradient times the box's weight, and returns the loss's
gradients in those terms (:class:`~.box_geometry_backward.TermGrads`); the chain rule
on to the coordinates is :func:`~.geometry_backward.aligned_box_terms_backward`.
Each term is computed exactly as the plain form (``functional/location/``) computes it, so the
two round alike. With ``P(x) = x^alpha`` (Alpha-IoU, arXiv 2110.13675) and
``L = 1 - P(IoU) + sum_k P(penalty_k)``:

.. math::
    \frac{\partial L}{\partial IoU} = -P'(IoU), \quad
    \frac{\partial L}{\partial R_k} = P'(R_k), \quad
    P'(x) = \alpha \max(x, x_{tiny})^{\alpha - 1} [x \ge x_{tiny}]

(``P' = 1`` for ``alpha = 1``). IoU loss (UnitBox): ``'linear'`` as above,
``'square'`` ``-2 IoU``, ``'log'`` ``-1 / max(IoU, eps)``, 0 where ``IoU < eps``.

GIoU (arXiv 1902.09630), ``h = (A_C - U) / (A_C + eps)``, penalty ``max(h, 0)``:

.. math::
    \frac{\partial h}{\partial A_C} = \frac{1 - h}{A_C + \epsilon}, \quad
    \frac{\partial h}{\partial U} = -\frac{1}{A_C + \epsilon}

DIoU (arXiv 1911.08287), ``d = rho^2 / (c^2 + eps)``:

.. math::
    \frac{\partial d}{\partial \rho^2} = \frac{1}{c^2 + \epsilon}, \quad
    \frac{\partial d}{\partial c^2} = -\frac{d}{c^2 + \epsilon}

CIoU adds ``a v`` with the trade-off ``a = v / ((1 - IoU) + v + eps)`` held constant
(the paper differentiates ``v`` only, its Eq. 12; ``a = 0`` below
``aspect_iou_threshold``), ``v = K (atan r^{gt} - atan r)^2``, ``r = w / (h + eps)``,
``K = 4 / pi^2``:

.. math::
    \frac{\partial v}{\partial r} = -\frac{2K (\arctan r^{gt} - \arctan r)}
    {1 + r^2}, \quad
    \frac{\partial r}{\partial w} = \frac{1}{h + \epsilon}, \quad
    \frac{\partial r}{\partial h} = -\frac{r}{h + \epsilon}

and the opposite sign of ``dv/dr`` for the target's ratio.

EIoU (arXiv 2101.08158) adds ``e_w = (w - w^{gt})^2 / (C_w^2 + eps)`` and ``e_h``:

.. math::
    \frac{\partial e_w}{\partial w} = \frac{2 (w - w^{gt})}{C_w^2 + \epsilon}
    = -\frac{\partial e_w}{\partial w^{gt}}, \quad
    \frac{\partial e_w}{\partial C_w} = -\frac{2 C_w e_w}{C_w^2 + \epsilon}

Focal-EIoU multiplies ``g`` by the constant ``IoU^gamma``.

SIoU (arXiv 2205.12740), penalty ``(Delta + Omega) / 2`` with ``o = c^{gt} - c``,
``q = o_x^2 + o_y^2 + eps``, ``Lambda = 2 |o_x o_y| / q``, ``rate = 2 - Lambda``,
``u_x = o_x / (C_w + eps)``, ``Delta = sum_t 1 - e^{-rate u_t^2}``,
``omega_w = |w - w^{gt}| / (m_w + eps)``, ``m_w = max(w, w^{gt})``,
``Omega = sum_t (1 - e^{-omega_t})^theta``:

.. math::
    \frac{\partial \Delta}{\partial rate} = \sum_t u_t^2 e^{-rate\, u_t^2},
    \quad \frac{\partial \Delta}{\partial u_t} = 2\, rate\, u_t
    e^{-rate\, u_t^2}, \quad
    \frac{\partial u_x}{\partial o_x} = \frac{1}{C_w + \epsilon}, \quad
    \frac{\partial u_x}{\partial C_w} = -\frac{u_x}{C_w + \epsilon},

    \frac{\partial \Lambda}{\partial o_x} = \frac{2\, \mathrm{sgn}(o_x o_y)
    o_y}{q} - \frac{2 \Lambda o_x}{q}, \quad
    \frac{\partial \Omega}{\partial \omega} = \theta (1 - e^{-\omega})^{\theta
    - 1} e^{-\omega}, \quad
    \frac{\partial \omega_w}{\partial w} = \frac{\mathrm{sgn}(w - w^{gt})}
    {m_w + \epsilon} - [w \text{ wins } m_w] \frac{\omega_w}{m_w + \epsilon}

Kinks (where a clamp, ``|.|`` or ``max`` makes the loss piecewise) are resolved as
autograd resolves them in the plain form, so the two gradients are equal everywhere:
``sgn(0) = 0``; a tie of ``max(w, w^{gt})`` gives each half; a clamp passes the
gradient at its bound (``x >= bound``: GIoU's ``h = 0`` for nested and coincident
boxes, Alpha-IoU's ``x_tiny``, ``'log'``'s ``eps``); the geometry's own kinks
(touching boxes, shared edges, inverted boxes) are listed in
:mod:`.geometry_backward`.
"""

import torch
from torch import Tensor

from ..dtypes import tiny
from ..location.geometry import BOX_EPS, BoxTerms, centre_distance
from ..location.iou import ASPECT_FACTOR, aspect_angle_gap
from .geometry_backward import TermGrads, max_share


def _power_grad(x: Tensor, alpha: float):
    """d/dx of :func:`~mmdet_losses.functional.location.modifiers.alpha_power`."""
    if alpha == 1:
        return 1.0
    floor = tiny(x)
    return torch.where(x >= floor, alpha * x.clamp(min=floor).pow(alpha - 1), 0.0)


def _iou_grad(terms: BoxTerms, g: Tensor, alpha: float) -> Tensor:
    return -g * _power_grad(terms.iou, alpha)


def _distance_grads(terms: BoxTerms, g: Tensor, alpha: float, eps: float):
    """``d = rho^2 / (c^2 + eps)``: gradients in ``rho^2`` and ``c^2``."""
    # each term is computed as the plain form computes it (same rounding)
    per_diag = 1 / (terms.enclose_diag_sq + eps)
    distance = centre_distance(terms, eps)
    g_distance = g * _power_grad(distance, alpha)
    return g_distance * per_diag, -g_distance * distance * per_diag


def iou_term_grads(terms, pred, target, g, *, mode='log', eps=BOX_EPS, alpha=1.0):
    """IoU loss, ``mode`` ``'log'``, ``'linear'`` or ``'square'``."""
    if mode == 'log':
        g_iou = torch.where(terms.iou >= eps, -g / terms.iou.clamp(min=eps), 0.0)
    elif mode == 'square':
        g_iou = -2 * terms.iou * g
    else:
        g_iou = _iou_grad(terms, g, alpha)
    return TermGrads(iou=g_iou)


def giou_term_grads(terms, pred, target, g, *, eps=BOX_EPS, alpha=1.0):
    """GIoU: the IoU, the union and the enclosing area."""
    per_area = 1 / (terms.enclose_area + eps)
    hull = (terms.enclose_area - terms.union) / (terms.enclose_area + eps)
    g_hull = torch.where(hull >= 0, g * _power_grad(hull.clamp(min=0), alpha), 0.0)
    return TermGrads(iou=_iou_grad(terms, g, alpha), union=-g_hull * per_area,
                     enclose_area=g_hull * (1 - hull) * per_area)


def diou_term_grads(terms, pred, target, g, *, eps=BOX_EPS, alpha=1.0):
    """DIoU: the IoU, ``rho^2`` and ``c^2``."""
    g_rho, g_diag = _distance_grads(terms, g, alpha, eps)
    return TermGrads(iou=_iou_grad(terms, g, alpha), center_dist_sq=g_rho,
                     enclose_diag_sq=g_diag)


def _aspect_ratio_grads(g_atan: Tensor, w: Tensor, h: Tensor, eps: float):
    """Gradients in ``w, h`` of ``atan(w / (h + eps))`` given the one in it."""
    per_h = 1 / (h + eps)
    ratio = w * per_h
    g_ratio = g_atan / (1 + ratio * ratio) * per_h
    return g_ratio, -g_ratio * ratio


def ciou_term_grads(terms, pred, target, g, *, eps=BOX_EPS, alpha=1.0,
                   aspect_iou_threshold=None):
    """CIoU: DIoU's terms and the four sizes (``v``; the trade-off constant)."""
    angle_gap = aspect_angle_gap(terms, eps)
    v = ASPECT_FACTOR * angle_gap**2
    tradeoff = v / (1 - terms.iou + v + eps)
    if aspect_iou_threshold is not None:
        tradeoff = tradeoff * (terms.iou >= aspect_iou_threshold)
    g_v = g * _power_grad(tradeoff * v, alpha) * tradeoff
    g_target_atan = g_v * 2 * ASPECT_FACTOR * angle_gap
    g_tw, g_th = _aspect_ratio_grads(g_target_atan, terms.target_w, terms.target_h,
                                     eps)
    g_pw, g_ph = _aspect_ratio_grads(-g_target_atan, terms.pred_w, terms.pred_h, eps)
    g_rho, g_diag = _distance_grads(terms, g, alpha, eps)
    return TermGrads(iou=_iou_grad(terms, g, alpha), center_dist_sq=g_rho,
                     enclose_diag_sq=g_diag, pred_w=g_pw, pred_h=g_ph,
                     target_w=g_tw, target_h=g_th)


def _side_gap_grads(g, pred_size, target_size, enclose, alpha, eps):
    """``e = (s - s^gt)^2 / (C^2 + eps)``: gradients in ``s`` and ``C``."""
    per_enclose = 1 / (enclose**2 + eps)
    gap = pred_size - target_size
    side = gap**2 / (enclose**2 + eps)
    g_side = g * _power_grad(side, alpha)
    return 2 * g_side * gap * per_enclose, -2 * g_side * side * enclose * per_enclose


def eiou_term_grads(terms, pred, target, g, *, eps=BOX_EPS, alpha=1.0,
                   focal_gamma=None):
    """EIoU / Focal-EIoU: DIoU's terms, the sizes and the enclosing sides."""
    if focal_gamma is not None:
        g = g * terms.iou.pow(focal_gamma)
    g_w, g_ew = _side_gap_grads(g, terms.pred_w, terms.target_w, terms.enclose_w,
                                alpha, eps)
    g_h, g_eh = _side_gap_grads(g, terms.pred_h, terms.target_h, terms.enclose_h,
                                alpha, eps)
    g_rho, g_diag = _distance_grads(terms, g, alpha, eps)
    return TermGrads(iou=_iou_grad(terms, g, alpha), center_dist_sq=g_rho,
                     enclose_diag_sq=g_diag, pred_w=g_w, target_w=-g_w,
                     pred_h=g_h, target_h=-g_h, enclose_w=g_ew, enclose_h=g_eh)


def _shape_cost_grads(g_shape, pred_size, target_size, theta, eps):
    """``(1 - exp(-omega))^theta``, ``omega = |s - s^gt| / (max(s, s^gt) + eps)``:
    gradients in ``s`` and ``s^gt``."""
    gap = pred_size - target_size
    per_max = 1 / (torch.maximum(pred_size, target_size) + eps)
    omega = gap.abs() * per_max
    decay = torch.exp(-omega)
    g_omega = g_shape * theta * (1 - decay).pow(theta - 1) * decay
    g_gap = g_omega * gap.sign() * per_max
    g_max = -g_omega * omega * per_max
    pred_share = max_share(pred_size, target_size)
    return g_gap + g_max * pred_share, -g_gap + g_max * (1 - pred_share)


def siou_term_grads(terms, pred, target, g, *, eps=BOX_EPS, alpha=1.0, theta=4.0):
    """SIoU: the IoU, the centre offsets, the enclosing sides and the sizes."""
    offset_x = terms.target_cx - terms.pred_cx
    offset_y = terms.target_cy - terms.pred_cy
    per_q = 1 / (offset_x**2 + offset_y**2 + eps)
    angle = 2 * (offset_x * offset_y).abs() / (offset_x**2 + offset_y**2 + eps)
    rate = 2 - angle
    per_ew, per_eh = 1 / (terms.enclose_w + eps), 1 / (terms.enclose_h + eps)
    unit_x = offset_x / (terms.enclose_w + eps)
    unit_y = offset_y / (terms.enclose_h + eps)
    decay_x, decay_y = torch.exp(-rate * unit_x**2), torch.exp(-rate * unit_y**2)
    omega_w = (terms.pred_w - terms.target_w).abs() / \
        (torch.maximum(terms.pred_w, terms.target_w) + eps)
    omega_h = (terms.pred_h - terms.target_h).abs() / \
        (torch.maximum(terms.pred_h, terms.target_h) + eps)
    distance = (1 - decay_x) + (1 - decay_y)
    shape = (1 - torch.exp(-omega_w))**theta + (1 - torch.exp(-omega_h))**theta
    g_half = g * _power_grad((distance + shape) * 0.5, alpha) * 0.5

    g_angle = -g_half * (unit_x**2 * decay_x + unit_y**2 * decay_y)
    g_unit_x = g_half * 2 * rate * unit_x * decay_x
    g_unit_y = g_half * 2 * rate * unit_y * decay_y
    # angle = 2 |o_x o_y| q^-1
    g_abs = g_angle * 2 * per_q * (offset_x * offset_y).sign()
    g_q = -g_angle * angle * per_q
    g_ox = g_unit_x * per_ew + g_abs * offset_y + 2 * g_q * offset_x
    g_oy = g_unit_y * per_eh + g_abs * offset_x + 2 * g_q * offset_y
    g_pw, g_tw = _shape_cost_grads(g_half, terms.pred_w, terms.target_w, theta, eps)
    g_ph, g_th = _shape_cost_grads(g_half, terms.pred_h, terms.target_h, theta, eps)
    return TermGrads(iou=_iou_grad(terms, g, alpha), offset_x=g_ox, offset_y=g_oy,
                     enclose_w=-g_unit_x * unit_x * per_ew,
                     enclose_h=-g_unit_y * unit_y * per_eh, pred_w=g_pw,
                     pred_h=g_ph, target_w=g_tw, target_h=g_th)
