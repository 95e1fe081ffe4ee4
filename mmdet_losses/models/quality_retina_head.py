"""RetinaNet head trained with an IoU-aware classification target."""
from typing import Tuple

from mmdet.models.dense_heads import RetinaHead
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

from ..registry import MODELS
from .quality_target import iou_quality_target


@MODELS.register_module()
class QualityRetinaHead(RetinaHead):
    r"""MMDetection's ``RetinaHead`` whose classification target is the IoU quality.

    Everything but the classification target is RetinaNet's: layers, anchors,
    assigner, ``loss_bbox`` and its wiring (``reg_decoded_bbox``), inference. For
    a positive anchor :math:`i` assigned to a ground truth of class :math:`c_i`,
    the target of logit :math:`(i, c_i)` is
    :math:`\mathrm{IoU}(\hat b_i, b_i)` of its decoded predicted box with that
    ground truth, detached (:func:`~.quality_target.iou_quality_target`); every
    other logit of every anchor has target 0. ``loss_cls`` is called as GFL's head
    calls Quality Focal Loss (GFL, arXiv:2006.04388)::

        loss_cls(cls_score (N, C), (labels (N,), scores (N,)),
                 weight=label_weights (N,), avg_factor=num_pos)

    so it must take a ``(labels, scores)`` target: every loss of kind ``'quality'``
    (:mod:`mmdet_losses.spec`) does (QFL, VFL, MAL). Conventions kept from
    RetinaNet: ignored anchors (IoU between the assigner's thresholds) and anchors
    outside the image carry label weight 0, negatives 1; the loss is averaged over
    the positives of the batch, as GFL averages QFL (RetinaNet's ``avg_factor``:
    each image counts at least 1, so an image without objects divides by 1, not 0).

    Args:
        As :class:`mmdet.models.dense_heads.RetinaHead`; ``loss_cls`` must be a
        sigmoid loss (``use_sigmoid=True``): the target is a score per class.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError(
                f'{type(self).__name__} trains one IoU score per class and needs a '
                "sigmoid loss_cls (use_sigmoid=True), got use_sigmoid=False")

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor,
                            anchors: Tensor, labels: Tensor, label_weights: Tensor,
                            bbox_targets: Tensor, bbox_weights: Tensor,
                            avg_factor: int) -> Tuple[Tensor, Tensor]:
        """The losses of one FPN level (shapes as ``AnchorHead.loss_by_feat_single``).

        Args:
            cls_score: ``(B, A * C, H, W)`` logits.
            bbox_pred: ``(B, A * 4, H, W)`` deltas.
            anchors: ``(B, H * W * A, 4)``.
            labels, label_weights: ``(B, H * W * A)``.
            bbox_targets, bbox_weights: ``(B, H * W * A, 4)``; the targets are
                encoded deltas, or boxes when ``reg_decoded_bbox``.
            avg_factor: the number of positives of the batch (at least 1 per
                image, MMDetection's ``SamplingResult``).

        Returns:
            ``(loss_cls, loss_bbox)``.
        """
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        anchors = anchors.reshape(-1, anchors.size(-1))
        bbox_targets = bbox_targets.reshape(-1, bbox_targets.size(-1))
        bbox_weights = bbox_weights.reshape(-1, bbox_weights.size(-1))
        deltas = bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size)

        pred_boxes = get_box_tensor(self.bbox_coder.decode(anchors, deltas))
        target_boxes = bbox_targets if self.reg_decoded_bbox else get_box_tensor(
            self.bbox_coder.decode(anchors, bbox_targets))
        scores = iou_quality_target(pred_boxes, target_boxes, labels, self.num_classes)
        loss_cls = self.loss_cls(cls_score, (labels, scores), label_weights,
                                 avg_factor=avg_factor)
        loss_bbox = self.loss_bbox(pred_boxes if self.reg_decoded_bbox else deltas,
                                   bbox_targets, bbox_weights, avg_factor=avg_factor)
        return loss_cls, loss_bbox
