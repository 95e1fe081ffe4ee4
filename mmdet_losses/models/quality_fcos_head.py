"""FCOS head trained with an IoU-aware classification target, without centre-ness."""
from typing import Dict, List, Optional, Tuple

import torch
from mmcv.cnn import Scale
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.dense_heads.anchor_free_head import AnchorFreeHead
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from torch import Tensor

from ..registry import MODELS
from .quality_target import iou_quality_target


@MODELS.register_module()
class QualityFCOSHead(FCOSHead):
    r"""MMDetection's ``FCOSHead`` whose classification score is the IoU quality.

    For a positive location :math:`i` of class :math:`c_i`, the target of logit
    :math:`(i, c_i)` is :math:`\mathrm{IoU}(\hat b_i, b_i)` of its decoded
    predicted box with its ground truth, detached
    (:func:`~.quality_target.iou_quality_target`); every other logit of every
    location has target 0. ``loss_cls`` is called as GFL's head calls Quality Focal
    Loss (GFL, arXiv:2006.04388)::

        loss_cls(cls_score (N, C), (labels (N,), scores (N,)), avg_factor=num_pos)

    so it must take a ``(labels, scores)`` target: every loss of kind ``'quality'``
    (:mod:`mmdet_losses.spec`) does (QFL, VFL, MAL). As in FCOS, every location is a
    positive or a negative (none is ignored) and the loss is averaged over the
    positives of all processes, at least 1.

    **No centre-ness branch.** FCOS multiplies its class score by a separately
    trained centre-ness at inference; here the class score is itself trained to be
    the localisation quality, which is what centre-ness stands in for. GFL's joint
    representation drops the separate quality branch for that reason (the paper's
    introduction): it is trained on positives only but multiplies the score of every
    location at test time, so a background location with a spuriously high
    centre-ness can outrank true detections. VarifocalNet's head, built on FCOS, has
    no centre-ness branch either: its IoU-aware score takes its place. The head
    therefore has no ``conv_centerness``, no ``loss_centerness`` (it must be
    ``None``, ``centerness_on_reg`` False), returns ``(cls_scores, bbox_preds)`` and
    scores detections by the class score alone.
    The location loss keeps FCOS's weighting of each positive by its centre-ness
    *target* (a function of the ground truth, no branch needed), so that only the
    classification differs from FCOS. The loss step waits for the device nowhere
    after the targets are assigned: every location enters the losses, the
    non-positives with weight 0.

    Args:
        As :class:`mmdet.models.dense_heads.FCOSHead`, except ``loss_centerness``
        (must be ``None``) and ``centerness_on_reg`` (must be False); ``loss_cls``
        must be a sigmoid loss (``use_sigmoid=True``).
    """

    def __init__(self, *args, loss_centerness: Optional[dict] = None,
                 centerness_on_reg: bool = False, **kwargs) -> None:
        name = type(self).__name__
        if loss_centerness is not None:
            raise ValueError(
                f'{name} has no centre-ness branch: the class score is trained to '
                f'be the IoU quality. loss_centerness must be None, got '
                f'{loss_centerness!r}')
        if centerness_on_reg:
            raise ValueError(f'{name} has no centre-ness branch; centerness_on_reg '
                             'must be False, got True')
        super().__init__(*args, **kwargs)
        del self.loss_centerness  # FCOSHead.__init__ builds its default one
        if not self.use_sigmoid_cls:
            raise ValueError(
                f'{name} trains one IoU score per class and needs a sigmoid '
                'loss_cls (use_sigmoid=True), got use_sigmoid=False')

    def _init_layers(self) -> None:
        super()._init_layers()
        # Unused parameters would stall DistributedDataParallel.
        del self.conv_centerness

    def forward_single(self, x: Tensor, scale: Scale,
                       stride: int) -> Tuple[Tensor, Tensor]:
        """FCOS's ``forward_single`` without the centre-ness output: ``(B, C, H, W)``
        logits and ``(B, 4, H, W)`` distances (in stride units when
        ``norm_on_bbox`` during training, pixels otherwise). ``forward`` (FCOS's)
        collects them per level into ``(cls_scores, bbox_preds)``."""
        cls_score, bbox_pred, _, _ = AnchorFreeHead.forward_single(self, x)
        bbox_pred = scale(bbox_pred).float()  # float: no overflow under fp16
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_preds: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """``loss_cls`` on IoU-quality targets and FCOS's ``loss_bbox``.

        Args:
            cls_scores: per level ``(B, C, H, W)`` logits.
            bbox_preds: per level ``(B, 4, H, W)`` distances.
            batch_gt_instances: per image ``bboxes`` and ``labels``.
            batch_img_metas: per image meta information (unused, as in FCOS).
            batch_gt_instances_ignore: unused, as in FCOS.

        Returns:
            ``{'loss_cls': ..., 'loss_bbox': ...}``.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(points, batch_gt_instances)
        num_imgs = cls_scores[0].size(0)
        # Level-major, then image, then location: the order of get_targets.
        flat_cls_scores = torch.cat([
            score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
            for score in cls_scores])
        flat_bbox_preds = torch.cat(
            [pred.permute(0, 2, 3, 1).reshape(-1, 4) for pred in bbox_preds])
        flat_labels = torch.cat(labels)
        flat_bbox_targets = torch.cat(bbox_targets)
        flat_points = torch.cat([level.repeat(num_imgs, 1) for level in points])

        # Every location takes part, the non-positives with weight 0: boolean
        # indexing, Python max and len() on tensors would each wait for the device.
        positive = (flat_labels >= 0) & (flat_labels < self.num_classes)
        num_pos = reduce_mean(positive.sum().to(flat_bbox_preds.dtype)).clamp(min=1.0)

        pred_boxes = self.bbox_coder.decode(flat_points, flat_bbox_preds)
        # A non-positive's target is its own (detached) prediction: finite for any
        # location loss, and weighted 0.
        target_boxes = torch.where(
            positive[:, None], self.bbox_coder.decode(flat_points, flat_bbox_targets),
            pred_boxes.detach())
        scores = iou_quality_target(pred_boxes, target_boxes, flat_labels,
                                    self.num_classes)
        loss_cls = self.loss_cls(flat_cls_scores, (flat_labels, scores),
                                 avg_factor=num_pos)

        # FCOS's centre-ness target of the positives (0/0 elsewhere, hence where)
        centerness = torch.where(positive, self.centerness_target(flat_bbox_targets),
                                 flat_bbox_targets.new_zeros(()))
        centerness_denorm = reduce_mean(centerness.sum().detach()).clamp(min=1e-6)
        loss_bbox = self.loss_bbox(pred_boxes, target_boxes, weight=centerness,
                                   avg_factor=centerness_denorm)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)
