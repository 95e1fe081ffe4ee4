r"""A match cost from any box loss of this package, for the Hungarian matcher of the
DETR family (``HungarianAssigner``'s ``match_costs``).

MMDetection builds a DETR head's losses and its matcher's costs independently: with
``loss_iou`` swapped to CIoU, ``IoUCost(iou_mode='giou')`` still assigns the queries
by GIoU, so the loss scores an assignment it did not make. :class:`BoxLossCost`
matches by the loss itself:

.. math::
    C_{ij} = w \, \mathcal{L}(b_i, g_j)

for every prediction ``b_i`` and ground truth ``g_j`` (absolute ``x1, y1, x2, y2``, as
the DETR heads pass them to the matcher). With ``GIoULoss`` it is ``w (1 - GIoU)``,
MMDetection's ``IoUCost(iou_mode='giou')`` (``-w GIoU``) plus the constant ``w``:
the same assignment.
"""
from typing import Optional, Union

import torch
from torch import Tensor

from ..losses import SPECS
from ..registry import MODELS, TASK_UTILS
from ..spec import BOXES

__all__ = ['BoxLossCost']


@TASK_UTILS.register_module()
class BoxLossCost:
    """Pairwise cost of a box loss of this package (a loss whose spec compares
    boxes), ``(num_preds, num_gts)``, for ``HungarianAssigner``.

    Args:
        loss: the loss config, e.g. ``dict(type='mmdet_losses.CIoULoss')``; its
            ``loss_weight`` and ``reduction`` are ignored (the cost's ``weight``
            scales it). The loss runs in eval mode: Wise-IoU v2 and v3 take their
            running mean at its initial value, not the one training updates.
        weight: the cost's weight (MMDetection's DETR configs: 2.0 for the IoU
            cost, as ``loss_iou``'s weight).

    Example:
        ``match_costs=[dict(type='FocalLossCost', weight=2.0),
        dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
        dict(type='mmdet_losses.BoxLossCost', loss=dict(type='mmdet_losses.CIoULoss'),
        weight=2.0)]``
    """

    def __init__(self, loss: dict, weight: Union[float, int] = 1.0) -> None:
        if not isinstance(loss, dict) or not isinstance(loss.get('type'), str):
            raise TypeError("BoxLossCost: loss must be a loss config dict, e.g. "
                            f"dict(type='mmdet_losses.CIoULoss'), got {loss!r}")
        name = loss['type'].split('.')[-1]
        spec = SPECS.get(name)
        if not loss['type'].startswith('mmdet_losses.') or spec is None \
                or spec.compares != BOXES:
            boxes = [n for n, s in SPECS.items() if s.compares == BOXES]
            raise ValueError(
                f"BoxLossCost: loss must be one of this package's box losses "
                f"(type='mmdet_losses.<Name>', Name in {', '.join(boxes)}), got "
                f"type={loss['type']!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not weight >= 0:
            raise ValueError(f'BoxLossCost: weight must be a number >= 0, got '
                             f'{weight!r}')
        self.loss_cfg = dict(loss)
        # in eval mode: matching must not update a loss's running statistics
        self.loss = MODELS.build(dict(loss, loss_weight=1.0, reduction='none')).eval()
        self.weight = float(weight)

    def __call__(self, pred_instances, gt_instances, img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """``pred_instances.bboxes`` ``(n, 4)`` and ``gt_instances.bboxes`` ``(k, 4)``,
        absolute ``x1, y1, x2, y2``: the ``(n, k)`` cost in the predictions' dtype
        (computed in float32 at least)."""
        pred, gt = pred_instances.bboxes, gt_instances.bboxes
        n, k = pred.shape[0], gt.shape[0]
        dtype = torch.promote_types(pred.dtype, torch.float32)
        pairs_pred = pred.to(dtype)[:, None, :].expand(n, k, 4).reshape(-1, 4)
        pairs_gt = gt.to(dtype)[None, :, :].expand(n, k, 4).reshape(-1, 4)
        with torch.no_grad():
            cost = self.loss(pairs_pred, pairs_gt) if n * k else pairs_pred.new_zeros(0)
        return (cost.reshape(n, k) * self.weight).to(pred.dtype)

    def __repr__(self) -> str:
        return f'BoxLossCost(loss={self.loss_cfg!r}, weight={self.weight})'
