"""The IoU-quality classification target of the quality-aware heads.

Quality Focal Loss (GFL, Li et al., arXiv:2006.04388, sec. 3.2) and Varifocal Loss
(VarifocalNet, Zhang et al., arXiv:2008.13367, sec. 3.1) train the classification
score of a positive to equal the IoU of its predicted box with its ground truth, and
the score of everything else to 0. This module computes that target once for every
head of this package, with the package's one box geometry.
"""
import torch
from torch import Tensor

from ..functional.location.geometry import aligned_box_terms, upcast_boxes
from ..losses import SPECS
from ..spec import IOU_QUALITY

# Category losses whose target is ``(labels, IoU scores)``, from their specs.
QUALITY_LOSSES = tuple(name for name, spec in SPECS.items()
                       if spec.targets == IOU_QUALITY)


def iou_quality_target(pred_boxes: Tensor, target_boxes: Tensor, labels: Tensor,
                       num_classes: int) -> Tensor:
    r"""The soft classification target of each prior.

    .. math::
        s_i = \begin{cases}
            \mathrm{IoU}(\hat b_i, b_i) & 0 \le y_i < C \\
            0 & \text{otherwise (background } y_i = C\text{, or ignored)}
        \end{cases}

    with :math:`\hat b_i` the decoded predicted box of prior :math:`i`, :math:`b_i`
    its assigned ground truth and :math:`y_i` its label. The target is detached:
    the IoU is a label, not a path for the classification gradient into the box
    branch (GFL and VarifocalNet both detach it).

    Args:
        pred_boxes: ``(N, 4)`` decoded predicted boxes, x1y1x2y2.
        target_boxes: ``(N, 4)`` assigned ground-truth boxes, x1y1x2y2, in the same
            units as ``pred_boxes`` (IoU is scale-invariant, so pixels and
            stride units both work); rows of non-positives may hold anything.
        labels: ``(N,)`` integer labels, ``num_classes`` for background.
        num_classes: ``C``, the number of foreground classes.

    Returns:
        ``(N,)`` float32 (float64 for float64 boxes) scores in ``[0, 1]``, no grad.

    Note:
        Non-positive rows are selected with ``torch.where``, not multiplied by 0, so
        a non-finite predicted box there (an ``exp`` overflow of a background
        location) still gives exactly 0. No host-device synchronisation.
    """
    if labels.shape != pred_boxes.shape[:1]:
        raise ValueError('labels must have shape (N,) for (N, 4) boxes, got '
                         f'{tuple(labels.shape)} and {tuple(pred_boxes.shape)}')
    with torch.no_grad():
        pred, target = upcast_boxes(pred_boxes.detach(), target_boxes.detach())
        iou = aligned_box_terms(pred, target).iou.clamp(0, 1)
        positive = (labels >= 0) & (labels < num_classes)
        return torch.where(positive, iou, torch.zeros_like(iou))
