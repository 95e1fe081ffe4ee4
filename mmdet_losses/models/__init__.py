"""Registered heads (scope ``mmdet_losses``): RetinaNet, FCOS and the DETR family
(DETR, Deformable DETR, DINO) trained with an IoU-aware classification target, for
Quality Focal Loss, Varifocal Loss and the Matchability-Aware Loss.

Configs import this module (``custom_imports = dict(imports=['mmdet_losses',
'mmdet_losses.models'])``) and select a head with
``type='mmdet_losses.QualityRetinaHead'``.
"""
from .quality_detr_heads import (QualityDeformableDETRHead, QualityDETRHead,
                                 QualityDINOHead, takes_quality_targets)
from .quality_fcos_head import QualityFCOSHead
from .quality_retina_head import QualityRetinaHead
from .quality_target import QUALITY_LOSSES, iou_quality_target

# The quality-aware head of each of MMDetection's heads that has one here, with the
# settings that come with the swap: what the ablation grid and the configs switch to
# when the category loss is a quality loss.
QUALITY_HEADS = {
    'RetinaHead': dict(type='mmdet_losses.QualityRetinaHead'),
    'FCOSHead': dict(type='mmdet_losses.QualityFCOSHead', loss_centerness=None,
                     centerness_on_reg=False),
    'DETRHead': dict(type='mmdet_losses.QualityDETRHead'),
    'DeformableDETRHead': dict(type='mmdet_losses.QualityDeformableDETRHead'),
    'DINOHead': dict(type='mmdet_losses.QualityDINOHead'),
}

__all__ = ['QualityRetinaHead', 'QualityFCOSHead', 'QualityDETRHead',
           'QualityDeformableDETRHead', 'QualityDINOHead', 'iou_quality_target',
           'takes_quality_targets', 'QUALITY_HEADS', 'QUALITY_LOSSES']
