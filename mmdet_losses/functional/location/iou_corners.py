r"""The IoU losses with penalties on the distances of corresponding corners:
MPDIoU (over the image's size) and Powerful-IoU (over the target's size), on the one
geometry core (:mod:`.geometry`).

Each is ``1 - IoU^alpha + sum_k P_k^alpha`` for its own penalties (PIoU v2 times a
focusing factor), takes the Alpha-IoU power ``alpha`` and the Inner-IoU / Focaler-IoU
modifiers (:mod:`.modifiers`) like the rest of the family. Boxes are ``(N, 4)`` (or
``(*, 4)``) x1y1x2y2; every function returns the element-wise loss ``(N,)`` in
``pred``'s dtype (float32 for integer boxes).
"""
from typing import Sequence

import torch
from torch import Tensor

from ..dtypes import output_dtype
from ..validation import check_choice, check_image_size
from .geometry import BOX_EPS, aligned_box_terms, upcast_boxes
from .modifiers import iou_family_form, with_iou_modifiers

__all__ = ['mpdiou_loss', 'piou_loss']

PIOU_VERSIONS = ('v1', 'v2')


@with_iou_modifiers
def mpdiou_loss(pred: Tensor, target: Tensor, image_size: Sequence[float],
                eps: float = BOX_EPS, alpha: float = 1.0) -> Tensor:
    r"""Minimum Point Distance IoU loss (Ma & Xu, arXiv 2307.07662).

    .. math::
        L = 1 - IoU + \frac{d_1^2}{W^2 + H^2} + \frac{d_2^2}{W^2 + H^2}, \quad
        d_1^2 = (x_1 - x_1^{gt})^2 + (y_1 - y_1^{gt})^2, \quad
        d_2^2 = (x_2 - x_2^{gt})^2 + (y_2 - y_2^{gt})^2

    ``W, H``: the width and height of the *input image* (the paper's choice). Copies
    of the loss normalise by a feature-map size or a fixed 640; here the value is
    explicit and required: the size of the images the network sees, after resize
    and padding (``(1333, 800)`` for MMDetection's 1x COCO pipeline).

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2, in the pixels of that image.
        image_size: ``(W, H)``, each ``> 0``.
        eps: added to the union.
        alpha: Alpha-IoU power (each corner term raised on its own).

    Returns:
        ``(N,)`` loss. Unlike the rest of the family it is not scale invariant: the
        corner distances are measured against the image, not the boxes.
    """
    width, height = check_image_size(image_size)
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    diff = boxes[0] - boxes[1]
    norm = width**2 + height**2
    top_left = (diff[..., 0]**2 + diff[..., 1]**2) / norm
    bottom_right = (diff[..., 2]**2 + diff[..., 3]**2) / norm
    loss = iou_family_form(terms.iou, alpha, top_left, bottom_right)
    return loss.to(output_dtype(pred))


@with_iou_modifiers
def piou_loss(pred: Tensor, target: Tensor, version: str = 'v1',
              focus_lambda: float = 1.3, eps: float = BOX_EPS,
              alpha: float = 1.0) -> Tensor:
    r"""Powerful-IoU loss v1 and v2 (Liu et al., *Powerful-IoU: More straightforward
    and faster bounding box regression loss with a nonmonotonic focusing
    mechanism*, Neural Networks 170, 2024, doi 10.1016/j.neunet.2023.11.041).

    .. math::
        P = \frac{1}{4}\Big(\frac{|x_1 - x_1^{gt}| + |x_2 - x_2^{gt}|}
                                    {\max(w^{gt}, \epsilon)}
            + \frac{|y_1 - y_1^{gt}| + |y_2 - y_2^{gt}|}{\max(h^{gt}, \epsilon)}\Big),
        \quad L_{v1} = 1 - IoU + (1 - e^{-P^2}),

        L_{v2} = u(\lambda q)\, L_{v1}, \quad q = e^{-P}, \quad
        u(x) = 3 x e^{-x^2}

    ``P``, the target-size-adaptive penalty, measures the edge distances against
    the *target's* size only, so it does not shrink when the prediction grows
    (unlike the enclosing box of GIoU/DIoU), and ``1 - e^{-P^2}`` saturates for far
    boxes. v2's attention ``u`` is non-monotonic in the box quality ``q``: largest
    at ``lambda q = 1 / sqrt 2`` (``u = 1.287``), small for both nearly perfect
    (``q -> 1`` with ``lambda = 1.3``: ``u = 0.72``) and very poor boxes.

    Args:
        pred, target: ``(N, 4)`` boxes, x1y1x2y2.
        version: ``'v1'`` or ``'v2'``.
        focus_lambda: v2's ``lambda > 0`` (paper: 1.3).
        eps: added to the union; the lower bound of the target's sides in ``P``.
        alpha: Alpha-IoU power.

    Returns:
        ``(N,)`` loss in ``[0, 2)`` for v1. Nothing is held constant for the
        gradient: the official code differentiates through ``u(lambda q)`` too.
    """
    check_choice('version', version, PIOU_VERSIONS)
    boxes = upcast_boxes(pred, target)
    terms = aligned_box_terms(*boxes, eps)
    edge = (boxes[0] - boxes[1]).abs()
    # clamp, not + eps: exactly scale invariant for targets wider than eps
    penalty_factor = ((edge[..., 0] + edge[..., 2]) / terms.target_w.clamp(min=eps) +
                      (edge[..., 1] + edge[..., 3]) / terms.target_h.clamp(min=eps)) / 4
    loss = iou_family_form(terms.iou, alpha, 1 - torch.exp(-penalty_factor**2))
    if version == 'v2':
        focus = focus_lambda * torch.exp(-penalty_factor)
        loss = 3 * focus * torch.exp(-focus**2) * loss
    return loss.to(output_dtype(pred))
