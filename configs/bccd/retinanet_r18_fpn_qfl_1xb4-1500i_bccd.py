# RetinaNet R-18-FPN on BCCD: quality focal loss on IoU-quality targets (weight 1.0)
# + GIoU on decoded boxes (weight 2.0), as the shapes and COCO QFL variants;
# everything else as the focal + GIoU BCCD RetinaNet.
_base_ = ['./retinanet_r18_fpn_giou_1xb4-1500i_bccd.py', '../_base_/losses/qfl.py']
custom_imports = dict(
    imports=['mmdet_losses', 'mmdet_losses.models'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        type='mmdet_losses.QualityRetinaHead',
        loss_cls=dict(_base_.qfl_loss, _delete_=True, loss_weight=1.0)))
