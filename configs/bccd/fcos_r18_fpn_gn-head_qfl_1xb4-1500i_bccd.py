# FCOS R-18-FPN from scratch on BCCD: quality focal loss on IoU-quality targets
# (weight 1.0) + GIoU on decoded boxes (weight 1.0), as the COCO variant
# (fcos_r50-caffe_fpn_gn-head_qfl_1x_coco.py): no centre-ness branch, so
# centerness_on_reg goes too; everything else as the focal + GIoU FCOS.
_base_ = [
    './fcos_r18_fpn_gn-head_giou_1xb4-1500i_bccd.py', '../_base_/losses/qfl.py'
]
custom_imports = dict(
    imports=['mmdet_losses', 'mmdet_losses.models'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        type='mmdet_losses.QualityFCOSHead',
        centerness_on_reg=False,
        loss_centerness=None,
        loss_cls=dict(_base_.qfl_loss, _delete_=True, loss_weight=1.0)))
