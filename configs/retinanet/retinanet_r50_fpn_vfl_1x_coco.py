# RetinaNet R-50-FPN 1x: varifocal loss on IoU-quality targets (weight 1.0) + GIoU
# on decoded boxes (weight 2.0). mmdet_losses.QualityRetinaHead gives each positive
# anchor the IoU of its decoded box with its ground truth as the target of its class.
_base_ = ['./retinanet_r50_fpn_giou_1x_coco.py', '../_base_/losses/vfl.py']
custom_imports = dict(
    imports=['mmdet_losses', 'mmdet_losses.models'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        type='mmdet_losses.QualityRetinaHead',
        loss_cls=dict(_base_.vfl_loss, _delete_=True, loss_weight=1.0)))
