# FCOS R-50 (caffe) FPN, GN head, 1x on COCO: MMDetection's config (model zoo: 36.6
# box AP) with its losses replaced by mmdet_losses' own: sigmoid focal + IoU loss
# -log(IoU), weights 1.0 as upstream. The centre-ness branch keeps MMDetection's
# binary cross-entropy (it is neither a category nor a location loss).
# The loss variants in this folder inherit it and swap one of the two losses.
_base_ = [
    'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    '../_base_/losses/focal.py', '../_base_/losses/iou.py'
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
# Stop at the first non-finite loss term, before the optimizer step.
custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.focal_loss, _delete_=True, loss_weight=1.0),
        loss_bbox=dict(_base_.iou_loss, _delete_=True, loss_weight=1.0)))
