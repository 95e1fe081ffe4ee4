r"""The Normalized Gaussian Wasserstein Distance loss, for tiny objects, on the one
geometry core (:mod:`.geometry`). Not of the ``1 - IoU + penalty`` form: no
Alpha-IoU power, no IoU modifiers. Boxes are ``(N, 4)`` (or ``(*, 4)``) x1y1x2y2.
"""
import torch
from torch import Tensor

from ..dtypes import output_dtype
from .geometry import BOX_EPS, aligned_box_terms, upcast_boxes

__all__ = ['nwd_loss']


def nwd_loss(pred: Tensor, target: Tensor, eps: float = BOX_EPS,
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
    return (1 - torch.exp(-distance / constant)).to(output_dtype(pred))
