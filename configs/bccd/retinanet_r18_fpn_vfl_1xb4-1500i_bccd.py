# RetinaNet R-18-FPN on BCCD: varifocal loss on IoU-quality targets (weight 1.0)
# + GIoU on decoded boxes (weight 2.0), as the shapes and COCO VFL variants;
# everything else as the focal + GIoU BCCD RetinaNet.
_base_ = ['./retinanet_r18_fpn_giou_1xb4-1500i_bccd.py', '../_base_/losses/vfl.py']
custom_imports = dict(
    imports=['mmdet_losses', 'mmdet_losses.models'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        type='mmdet_losses.QualityRetinaHead',
        loss_cls=dict(_base_.vfl_loss, _delete_=True, loss_weight=1.0)))
