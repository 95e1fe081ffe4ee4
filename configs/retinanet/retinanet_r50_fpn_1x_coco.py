# RetinaNet R-50-FPN 1x on COCO: MMDetection's config (model zoo: 36.5 box AP) with
# its losses replaced by mmdet_losses' own: sigmoid focal + L1 on deltas, weights 1.0.
# The loss variants in this folder inherit it and swap one of the two losses.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/losses/focal.py', '../_base_/losses/l1.py'
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
# Stop at the first non-finite loss term, before the optimizer step.
custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.focal_loss, _delete_=True, loss_weight=1.0),
        loss_bbox=dict(_base_.l1_loss, _delete_=True, loss_weight=1.0)))
