"""Registered heads (scope ``mmdet_losses``): RetinaNet and FCOS trained with an
IoU-aware classification target, for Quality Focal Loss and Varifocal Loss.

Configs import this module (``custom_imports = dict(imports=['mmdet_losses',
'mmdet_losses.models'])``) and select a head with
``type='mmdet_losses.QualityRetinaHead'``.
"""
from ..losses import SPECS
from ..spec import IOU_QUALITY
from .quality_fcos_head import QualityFCOSHead
from .quality_retina_head import QualityRetinaHead
from .quality_target import iou_quality_target

# The quality-aware head of each of MMDetection's heads that has one here, with the
# settings that come with the swap: what the ablation grid and the configs switch to
# when the category loss is a quality loss.
QUALITY_HEADS = {
    'RetinaHead': dict(type='mmdet_losses.QualityRetinaHead'),
    'FCOSHead': dict(type='mmdet_losses.QualityFCOSHead', loss_centerness=None,
                     centerness_on_reg=False),
}
# Category losses whose target is ``(labels, IoU scores)``, from their specs.
QUALITY_LOSSES = tuple(name for name, spec in SPECS.items()
                       if spec.targets == IOU_QUALITY)

__all__ = ['QualityRetinaHead', 'QualityFCOSHead', 'iou_quality_target',
           'QUALITY_HEADS', 'QUALITY_LOSSES']
