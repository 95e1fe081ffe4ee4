# FCOS R-50 GN-head 1x: quality focal loss on IoU-quality targets (weight 1.0) + GIoU
# on decoded boxes (weight 1.0). mmdet_losses.QualityFCOSHead gives each positive
# location the IoU of its decoded box with its ground truth as the target of its
# class, and has no centre-ness branch: the class score is the quality estimate.
_base_ = ['./fcos_r50-caffe_fpn_gn-head_giou_1x_coco.py', '../_base_/losses/qfl.py']
custom_imports = dict(
    imports=['mmdet_losses', 'mmdet_losses.models'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        type='mmdet_losses.QualityFCOSHead',
        loss_centerness=None,
        loss_cls=dict(_base_.qfl_loss, _delete_=True, loss_weight=1.0)))
