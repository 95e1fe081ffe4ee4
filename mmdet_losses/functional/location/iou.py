r"""The IoU loss and the penalties on the enclosing box: IoU, GIoU, DIoU, CIoU, EIoU
(and Focal-EIoU) and Wise-IoU, on the one geometry core (:mod:`.geometry`).

IoU, GIoU, DIoU, CIoU and EIoU are ``1 - IoU^alpha + sum_k P_k^alpha`` for their
own penalties ``P_k`` (:func:`~.modifiers.iou_family_form`: ``alpha = 1`` the
paper's loss, ``alpha != 1`` Alpha-IoU) and take the Inner-IoU / Focaler-IoU
modifiers (:mod:`.modifiers`); Focal-EIoU and WIoU scale such a loss by a factor.
The shape costs (SIoU, Shape-IoU) are :mod:`.iou_shape`, the corner distances
(MPDIoU, PIoU) :mod:`.iou_corners`, NWD :mod:`.nwd`.

Boxes are ``(N, 4)`` (or ``(*, 4)``) in x1y1x2y2; every function returns the
element-wise loss of shape ``(N,)`` (``(*)``) in ``pred``'s dtype (float32 for integer
boxes).
"""
import math
from typing import Optional

import torch
from torch import Tensor

from ..dtypes import output_dtype
from ..validation import check_iou_mode
from .geometry import (BOX_EPS, BoxTerms, aligned_box_terms, centre_distance,
                       upcast_boxes)
from .modifiers import iou_family_form, with_iou_modifiers

__all__ = ['iou_loss', 'giou_loss', 'diou_loss', 'ciou_loss', 'eiou_loss', 'wiou_loss']

#: CIoU's ``4 / pi^2``: ``v = ASPECT_FACTOR * aspect_angle_gap(terms)^2`` in [0, 1).
ASPECT_FACTOR = 4 / math.pi**2


def aspect_angle_gap(terms: BoxTerms, eps: float = BOX_EPS) -> Tensor:
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


@with_iou_modifiers
def iou_loss(pred: Tensor, target: Tensor, mode: str = 'log', eps: float = BOX_EPS,
             alpha: float = 1.0) -> Tensor:
    r"""IoU loss (UnitBox, Yu et al. 2016; FCOS uses ``'log'``).

    .. math::
        L_{log} = -\ln \max(IoU, \epsilon), \quad L_{linear} = 1 - IoU^{\alpha},
        \quad L_{square} = 1 - IoU^2

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        mode: ``'log'``, ``'linear'`` or ``'square'``.
        eps: added to the union; lower bound of IoU in ``'log'``.
        alpha: Alpha-IoU power (``'linear'`` only).

    Returns:
        ``(N,)`` loss.
    """
    check_iou_mode(mode, alpha)
    boxes = upcast_boxes(pred, target)
    iou = aligned_box_terms(*boxes, eps).iou
    if mode == 'log':
        loss = -iou.clamp(min=eps).log()
    elif mode == 'square':
        loss = 1 - iou**2
    else:
        loss = iou_family_form(iou, alpha)
    return loss.to(output_dtype(pred))


@with_iou_modifiers
def giou_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS,
              alpha: float = 1.0) -> Tensor:
    r"""Generalized IoU loss (Rezatofighi et al., CVPR 2019, arXiv 1902.09630).

    .. math:: L = 1 - IoU + \frac{|C| - |B \cup B^{gt}|}{|C| + \epsilon}

    with ``C`` the smallest enclosing box.

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: added to every denominator.
        alpha: Alpha-IoU power.

    Returns:
        ``(N,)`` loss in ``[0, 2)``.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    hull = (terms.enclose_area - terms.union) / (terms.enclose_area + eps)
    return iou_family_form(terms.iou, alpha, hull.clamp(min=0)).to(output_dtype(pred))


@with_iou_modifiers
def diou_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS,
              alpha: float = 1.0) -> Tensor:
    r"""Distance-IoU loss (Zheng et al., AAAI 2020, arXiv 1911.08287).

    .. math:: L = 1 - IoU + \frac{\rho^2(b, b^{gt})}{c^2 + \epsilon}

    with ``rho`` the distance of the centres and ``c`` the enclosing box's diagonal.

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: added to every denominator.
        alpha: Alpha-IoU power.

    Returns:
        ``(N,)`` loss in ``[0, 2)``.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    distance = centre_distance(terms, eps)
    return iou_family_form(terms.iou, alpha, distance).to(output_dtype(pred))


@with_iou_modifiers
def ciou_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS, alpha: float = 1.0,
              aspect_iou_threshold: Optional[float] = None) -> Tensor:
    r"""Complete-IoU loss (Zheng et al., AAAI 2020, arXiv 1911.08287).

    .. math::
        L = 1 - IoU + \frac{\rho^2}{c^2 + \epsilon} + a v, \quad
        v = \frac{4}{\pi^2}\Big(\arctan\frac{w^{gt}}{h^{gt} + \epsilon}
            - \arctan\frac{w}{h + \epsilon}\Big)^2, \quad
        a = \frac{v}{(1 - IoU) + v + \epsilon}

    The trade-off ``a`` is a constant for the gradient (computed under ``no_grad``),
    as the paper prescribes.

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: added to every denominator, inside ``arctan`` too (a zero-height box
            gives ``arctan(w / eps)``, not NaN).
        alpha: Alpha-IoU power (applied to ``a v`` as a whole).
        aspect_iou_threshold: ``None`` (the AAAI paper): ``a`` as above everywhere.
            A number: ``a = 0`` where ``IoU < threshold``; ``0.5`` is MMDetection's
            ``ciou_loss`` and the journal version (Zheng et al., TCYB 2021), which let
            the aspect term act only once the boxes overlap well.

    Returns:
        ``(N,)`` loss.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    distance = centre_distance(terms, eps)
    v = ASPECT_FACTOR * aspect_angle_gap(terms, eps)**2
    with torch.no_grad():
        tradeoff = v / (1 - terms.iou + v + eps)
        if aspect_iou_threshold is not None:
            tradeoff = tradeoff * (terms.iou >= aspect_iou_threshold)
    loss = iou_family_form(terms.iou, alpha, distance, tradeoff * v)
    return loss.to(output_dtype(pred))


@with_iou_modifiers
def eiou_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS, alpha: float = 1.0,
              focal_gamma: Optional[float] = None) -> Tensor:
    r"""Efficient-IoU loss and Focal-EIoU (Zhang et al., arXiv 2101.08158).

    .. math::
        L_{EIoU} = 1 - IoU + \frac{\rho^2}{c^2} + \frac{(w - w^{gt})^2}{C_w^2}
                 + \frac{(h - h^{gt})^2}{C_h^2}, \quad
        L_{Focal-EIoU} = IoU^{\gamma} L_{EIoU}

    ``C_w``, ``C_h``: the enclosing box's width and height; every denominator + eps.
    This is *Efficient*-IoU; MMDetection's ``EIoULoss`` is a different loss
    (Extended-IoU, with a smooth-L1 point term).

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: added to every denominator.
        alpha: Alpha-IoU power.
        focal_gamma: ``None``: plain EIoU; ``gamma > 0``: Focal-EIoU (the paper uses
            0.5). The factor ``IoU^gamma`` re-weights boxes and is held constant
            for the gradient.

    Returns:
        ``(N,)`` loss.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    distance = centre_distance(terms, eps)
    width = (terms.pred_w - terms.target_w)**2 / (terms.enclose_w**2 + eps)
    height = (terms.pred_h - terms.target_h)**2 / (terms.enclose_h**2 + eps)
    loss = iou_family_form(terms.iou, alpha, distance, width, height)
    if focal_gamma is not None:
        loss = loss * terms.iou.detach().pow(focal_gamma)
    return loss.to(output_dtype(pred))


def wiou_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS, alpha: float = 1.0,
              iou_loss_mean: Optional[Tensor] = None, focus_alpha: float = 1.9,
              focus_delta: float = 3.0, focus_gamma: Optional[float] = None) -> Tensor:
    r"""Wise-IoU v1, v2 and v3 (Tong et al., arXiv 2301.10051).

    .. math::
        L_{v1} = \exp\Big(\frac{\rho^2}{(W_g^2 + H_g^2)^*}\Big) L_{IoU}, \quad
        L_{v2} = \beta^{\gamma} L_{v1}, \quad
        L_{v3} = \frac{\beta}{\delta\, a^{\beta - \delta}} L_{v1}, \quad
        \beta = \frac{L_{IoU}^*}{\overline{L_{IoU}}}

    ``*``: held constant for the gradient; ``W_g, H_g``: the enclosing box;
    ``L_IoU = 1 - IoU^alpha``; ``mean(L_IoU)``: a running mean kept by the caller
    (:class:`~mmdet_losses.losses.WIoULoss`).

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: added to every denominator.
        alpha: Alpha-IoU power.
        iou_loss_mean: ``None`` for v1; the running mean of ``L_IoU`` (scalar
            tensor) for v2's and v3's focusing.
        focus_alpha, focus_delta: v3's ``a`` and ``delta`` (paper: 1.9 and 3, for
            which the gain is 1 at ``beta = delta``).
        focus_gamma: ``None`` for v1/v3; ``gamma > 0`` for v2's monotonic focusing
            ``beta^gamma`` (paper and official code: 0.5), which needs
            ``iou_loss_mean``. The paper's v2 divides by the mean to keep the
            gradient's scale as training lowers ``L_IoU``; ``beta`` is constant for
            the gradient in v2 and v3.

    Returns:
        ``(N,)`` loss.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    plain = iou_family_form(terms.iou, alpha)
    loss = torch.exp(terms.center_dist_sq / (terms.enclose_diag_sq.detach() + eps)) \
        * plain
    if focus_gamma is not None and iou_loss_mean is None:
        raise ValueError('focus_gamma (Wise-IoU v2) needs iou_loss_mean, the running '
                         'mean of the IoU loss; got iou_loss_mean=None')
    if iou_loss_mean is not None:
        outlier = plain.detach() / (iou_loss_mean.to(plain) + eps)
        if focus_gamma is not None:
            loss = loss * outlier.pow(focus_gamma)
        else:
            loss = loss * (outlier /
                           (focus_delta * focus_alpha**(outlier - focus_delta)))
    return loss.to(output_dtype(pred))


