"""IoU-family location losses on the one geometry core.

IoU, GIoU, DIoU, CIoU, EIoU and SIoU are ``1 - IoU^alpha + sum_k P_k^alpha`` for their
own penalties ``P_k`` (``alpha = 1``: the paper's loss; ``alpha != 1``: Alpha-IoU,
He et al., NeurIPS 2021, arXiv 2110.13675); Focal-EIoU and WIoU scale such a loss by
a factor, and NWD is a distance of Gaussians. All are computed from
:func:`~.box_geometry.aligned_box_terms`; MPDIoU, Shape-IoU and PIoU are in
:mod:`.iou_frontier`. Every loss of the ``1 - IoU + penalty`` form takes the
Inner-IoU / Focaler-IoU modifiers (:mod:`.iou_modifiers`).

Boxes are ``(N, 4)`` (or ``(*, 4)``) in x1y1x2y2; every function returns the
element-wise loss of shape ``(N,)`` (``(*)``) in ``pred``'s dtype (float32 for integer
boxes).
"""
from typing import Optional

import torch
from torch import Tensor

from .box_geometry import (ASPECT_FACTOR, aligned_box_terms, aspect_angle_gap,
                           upcast_boxes)
from .dtypes import output_dtype as _out_dtype
from .iou_modifiers import alpha_power as _power
from .iou_modifiers import with_iou_modifiers
from .validation import check_choice



def _iou_family(iou: Tensor, alpha: float, *penalties: Tensor) -> Tensor:
    """``1 - IoU^alpha + sum_k P_k^alpha``."""
    loss = 1 - _power(iou, alpha)
    for penalty in penalties:
        loss = loss + _power(penalty, alpha)
    return loss


def check_iou_mode(mode: str, alpha: float = 1.0) -> None:
    """``mode`` is ``'log'``, ``'linear'`` or ``'square'``; Alpha-IoU needs
    ``'linear'``."""
    check_choice('mode', mode, ('log', 'linear', 'square'))
    if alpha != 1 and mode != 'linear':
        raise ValueError(f"alpha={alpha} (Alpha-IoU) needs mode='linear', "
                         f'got mode={mode!r}')


@with_iou_modifiers
def iou_loss(pred: Tensor, target: Tensor, mode: str = 'log', eps: float = 1e-6,
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
        loss = _iou_family(iou, alpha)
    return loss.to(_out_dtype(pred))


@with_iou_modifiers
def giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-6,
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
    return _iou_family(terms.iou, alpha, hull.clamp(min=0)).to(_out_dtype(pred))


@with_iou_modifiers
def diou_loss(pred: Tensor, target: Tensor, eps: float = 1e-6,
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
    distance = terms.center_dist_sq / (terms.enclose_diag_sq + eps)
    return _iou_family(terms.iou, alpha, distance).to(_out_dtype(pred))


@with_iou_modifiers
def ciou_loss(pred: Tensor, target: Tensor, eps: float = 1e-6, alpha: float = 1.0,
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
    distance = terms.center_dist_sq / (terms.enclose_diag_sq + eps)
    v = ASPECT_FACTOR * aspect_angle_gap(terms, eps)**2
    with torch.no_grad():
        tradeoff = v / (1 - terms.iou + v + eps)
        if aspect_iou_threshold is not None:
            tradeoff = tradeoff * (terms.iou >= aspect_iou_threshold)
    return _iou_family(terms.iou, alpha, distance, tradeoff * v).to(_out_dtype(pred))


@with_iou_modifiers
def eiou_loss(pred: Tensor, target: Tensor, eps: float = 1e-6, alpha: float = 1.0,
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
    distance = terms.center_dist_sq / (terms.enclose_diag_sq + eps)
    width = (terms.pred_w - terms.target_w)**2 / (terms.enclose_w**2 + eps)
    height = (terms.pred_h - terms.target_h)**2 / (terms.enclose_h**2 + eps)
    loss = _iou_family(terms.iou, alpha, distance, width, height)
    if focal_gamma is not None:
        loss = loss * terms.iou.detach().pow(focal_gamma)
    return loss.to(_out_dtype(pred))


@with_iou_modifiers
def siou_loss(pred: Tensor, target: Tensor, eps: float = 1e-6, alpha: float = 1.0,
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
    omega_w = (terms.pred_w - terms.target_w).abs() / \
        (torch.maximum(terms.pred_w, terms.target_w) + eps)
    omega_h = (terms.pred_h - terms.target_h).abs() / \
        (torch.maximum(terms.pred_h, terms.target_h) + eps)
    shape = (1 - torch.exp(-omega_w))**theta + (1 - torch.exp(-omega_h))**theta
    return _iou_family(terms.iou, alpha, (distance + shape) * 0.5).to(_out_dtype(pred))


def wiou_loss(pred: Tensor, target: Tensor, eps: float = 1e-6, alpha: float = 1.0,
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
    plain = _iou_family(terms.iou, alpha)
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
    return loss.to(_out_dtype(pred))


def nwd_loss(pred: Tensor, target: Tensor, eps: float = 1e-6,
             constant: float = 12.8) -> Tensor:
    r"""Normalized Gaussian Wasserstein Distance loss (Wang et al., arXiv
    2110.13389), for tiny objects.

    A box is the Gaussian ``N((cx, cy), diag(w^2/4, h^2/4))``; the squared
    2-Wasserstein distance of two of them is

    .. math::
        W_2^2 = \lVert (c_x, c_y, \tfrac{w}{2}, \tfrac{h}{2})
              - (c_x^{gt}, c_y^{gt}, \tfrac{w^{gt}}{2}, \tfrac{h^{gt}}{2})
              \rVert^2, \quad
        L = 1 - \exp\Big(-\frac{\sqrt{\max(W_2^2, \epsilon^2)}}{C}\Big)

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        eps: lower bound of ``W_2`` (a finite gradient at ``W_2 = 0``; identical
            boxes give ``1 - exp(-eps / C)``, about ``1e-7``).
        constant: ``C``, about the dataset's mean absolute object size (12.8 on
            AI-TOD in the paper).

    Returns:
        ``(N,)`` loss in ``[0, 1)``.
    """
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    w2_sq = terms.center_dist_sq + ((terms.pred_w - terms.target_w)**2 +
                                    (terms.pred_h - terms.target_h)**2) / 4
    distance = torch.sqrt(w2_sq.clamp(min=eps**2))
    return (1 - torch.exp(-distance / constant)).to(_out_dtype(pred))
