r"""DETR-family heads whose classification target is the IoU of each matched query.

RT-DETR (Zhao et al., arXiv:2304.08069) trains its class scores with Varifocal Loss
on the IoU of each query matched by the Hungarian matcher, and DEIM (Huang et al.,
arXiv:2412.04234) with the Matchability-Aware Loss on the same target. MMDetection's
DETR heads pass integer labels to ``loss_cls`` (MMDetection's own
``QualityFocalLoss`` excepted, recognised by its class), so neither loss can be
plugged into a DETR config as it is. The heads here are MMDetection's with one
change: ``loss_cls`` receives ``(labels, scores)``, ``scores`` the IoU of each
matched query's predicted box with its ground truth (0 for unmatched queries),
on every decoder layer, on the encoder's proposals (two-stage Deformable DETR,
DINO) and on DINO's denoising queries. The matching, the box losses, the
normalisation and the loss names are MMDetection's.
"""
from typing import Dict, List, Tuple

import torch
from mmdet.models.dense_heads import DeformableDETRHead, DETRHead, DINOHead
from mmdet.models.losses import QualityFocalLoss as MMDetQualityFocalLoss
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmdet.utils import InstanceList, reduce_mean
from mmengine.dist import get_world_size
from torch import Tensor

from ..registry import MODELS
from .quality_target import QUALITY_LOSSES, iou_quality_target


def takes_quality_targets(loss_cls) -> bool:
    """Whether a built category loss takes a ``(labels, IoU scores)`` target: this
    package's losses of kind ``'quality'`` (QFL, VFL, MAL) and MMDetection's
    ``QualityFocalLoss``."""
    return bool(getattr(loss_cls, 'quality', False)) or isinstance(
        loss_cls, MMDetQualityFocalLoss)


class QualitySetLossMixin:
    r"""The loss of one set of queries with the IoU-quality classification target.

    For queries :math:`i` matched to a ground truth of class :math:`c_i` (by the
    Hungarian matcher, or by construction for denoising queries), the target of
    logit :math:`(i, c_i)` is :math:`\mathrm{IoU}(\hat b_i, b_i)` of the query's
    predicted box with that ground truth, detached
    (:func:`~.quality_target.iou_quality_target`, on the boxes in pixels that
    ``loss_iou`` compares); every other logit has target 0. ``loss_cls`` is called as
    MMDetection's DETR heads call its ``QualityFocalLoss``::

        loss_cls(cls_scores (B * Q, C), (labels (B * Q,), scores (B * Q,)),
                 label_weights (B * Q,), avg_factor=num_pos + bg_cls_weight * num_neg)

    and ``loss_bbox`` (L1 on normalised ``cx, cy, w, h``) and ``loss_iou`` (on boxes
    in pixels) as MMDetection calls them, averaged over the matched queries of all
    processes (at least 1).
    """

    def _check_quality_loss(self) -> None:
        if not takes_quality_targets(self.loss_cls):
            raise TypeError(
                f'{type(self).__name__} trains its classifier on the IoU of each '
                'matched query and needs a loss_cls that takes (labels, IoU scores) '
                f'targets ({", ".join(QUALITY_LOSSES)}), got '
                f'{type(self.loss_cls).__name__}; use '
                f"MMDetection's {self._base_head_name()} for a loss on labels")

    def _base_head_name(self) -> str:
        return next(k.__name__ for k in type(self).__mro__
                    if k.__module__.startswith('mmdet.'))

    def loss_by_feat_single(self, cls_scores: Tensor, bbox_preds: Tensor,
                            batch_gt_instances: InstanceList,
                            batch_img_metas: List[dict]) -> Tuple[Tensor, ...]:
        """The losses of one decoder layer's (or the encoder's) queries.

        Args:
            cls_scores: ``(B, Q, C)`` logits.
            bbox_preds: ``(B, Q, 4)`` normalised ``cx, cy, w, h`` in ``[0, 1]``.
            batch_gt_instances: the ground truth of each image (``bboxes`` in
                pixels, x1y1x2y2; ``labels``).
            batch_img_metas: each image's meta information (``img_shape``).

        Returns:
            ``(loss_cls, loss_bbox, loss_iou)``.
        """
        targets = self.get_targets(list(cls_scores), list(bbox_preds),
                                   batch_gt_instances, batch_img_metas)
        return self.quality_set_losses(cls_scores, bbox_preds, targets,
                                       batch_img_metas)

    def quality_set_losses(self, cls_scores: Tensor, bbox_preds: Tensor,
                           targets: tuple,
                           batch_img_metas: List[dict]) -> Tuple[Tensor, ...]:
        """The three losses of ``(B, Q)`` queries given their ``targets``: the
        ``(labels, label_weights, bbox_targets, bbox_weights, num_pos, num_neg)``
        of ``get_targets`` or ``get_dn_targets``, lists over the images."""
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
         num_pos, num_neg) = targets
        labels = torch.cat(labels_list, 0)
        label_weights = torch.cat(label_weights_list, 0)
        bbox_targets = torch.cat(bbox_targets_list, 0)
        bbox_weights = torch.cat(bbox_weights_list, 0)
        cls_scores = cls_scores.reshape(-1, self.cls_out_channels)
        bbox_preds = bbox_preds.reshape(-1, 4)

        cls_avg_factor = num_pos * 1.0 + num_neg * self.bg_cls_weight
        if self.sync_cls_avg_factor:
            cls_avg_factor = reduce_mean(cls_scores.new_tensor([cls_avg_factor]))
        cls_avg_factor = max(cls_avg_factor, 1)
        factors = torch.cat([
            preds.new_tensor([w, h, w, h]).expand(len(preds), 4)
            for (h, w), preds in zip((m['img_shape'][:2] for m in batch_img_metas),
                                     bbox_preds.reshape(len(batch_img_metas), -1, 4))
        ], 0)
        boxes = bbox_cxcywh_to_xyxy(bbox_preds) * factors
        target_boxes = bbox_cxcywh_to_xyxy(bbox_targets) * factors
        scores = iou_quality_target(boxes, target_boxes, labels, self.num_classes)
        loss_cls = self.loss_cls(cls_scores, (labels, scores), label_weights,
                                 avg_factor=cls_avg_factor)

        box_avg_factor = _mean_over_processes(num_pos, cls_scores)
        loss_iou = self.loss_iou(boxes, target_boxes, bbox_weights,
                                 avg_factor=box_avg_factor)
        loss_bbox = self.loss_bbox(bbox_preds, bbox_targets, bbox_weights,
                                   avg_factor=box_avg_factor)
        return loss_cls, loss_bbox, loss_iou


def _mean_over_processes(count: int, like: Tensor):
    """``count`` averaged over the processes, at least 1, as MMDetection's DETR
    heads normalise their box losses; a Python float in a single process, so the
    step does not wait for the device there."""
    if get_world_size() == 1:
        return max(float(count), 1.0)
    return reduce_mean(like.new_tensor([count])).clamp(min=1).item()


@MODELS.register_module()
class QualityDETRHead(QualitySetLossMixin, DETRHead):
    """MMDetection's ``DETRHead`` whose ``loss_cls`` is trained on the IoU of each
    matched query (:class:`QualitySetLossMixin`); ``loss_cls`` must take
    ``(labels, IoU scores)`` targets (QFL, VFL, MAL: sigmoid losses)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_quality_loss()


@MODELS.register_module()
class QualityDeformableDETRHead(QualitySetLossMixin, DeformableDETRHead):
    """MMDetection's ``DeformableDETRHead`` with the IoU-quality classification
    target on every decoder layer and, two-stage, on the encoder's proposals (there
    of the single class 0, as Deformable DETR scores its proposals)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_quality_loss()


@MODELS.register_module()
class QualityDINOHead(QualitySetLossMixin, DINOHead):
    """MMDetection's ``DINOHead`` with the IoU-quality classification target on
    every decoder layer, the encoder's proposals and the denoising queries (whose
    match to a ground truth is given by their construction)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._check_quality_loss()

    def _loss_dn_single(self, dn_cls_scores: Tensor, dn_bbox_preds: Tensor,
                        batch_gt_instances: InstanceList,
                        batch_img_metas: List[dict],
                        dn_meta: Dict[str, int]) -> Tuple[Tensor, ...]:
        """The losses of one decoder layer's denoising queries (shapes as
        :meth:`loss_by_feat_single`); zeros in the graph when there are none."""
        if dn_cls_scores.numel() == 0:
            zero = dn_cls_scores.sum() * 0 + dn_bbox_preds.sum() * 0
            return zero, zero, zero
        targets = self.get_dn_targets(batch_gt_instances, batch_img_metas, dn_meta)
        return self.quality_set_losses(dn_cls_scores, dn_bbox_preds, targets,
                                       batch_img_metas)
