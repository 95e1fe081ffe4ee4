# VFNet R-50-FPN 1x on COCO (Zhang et al., arXiv:2008.13367): MMDetection's config
# (model zoo: 41.6 box AP on val2017, MMDetection's configs/vfnet/README.md) with its
# three losses replaced by mmdet_losses' own, hyper-parameters and weights as
# upstream: Varifocal Loss (alpha 0.75, gamma 2, IoU-weighted, weight 1.0), GIoU on
# the initial boxes (weight 1.5) and on the refined boxes (weight 2.0).
# MMDetection's VFNetHead computes the IoU-aware classification targets itself.
_base_ = [
    'mmdet::vfnet/vfnet_r50_fpn_1x_coco.py', '../_base_/losses/vfl.py',
    '../_base_/losses/giou.py'
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
# stop the run, naming the loss term, when a loss turns non-finite
custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.vfl_loss, _delete_=True, loss_weight=1.0),
        loss_bbox=dict(_base_.giou_loss, _delete_=True, loss_weight=1.5),
        loss_bbox_refine=dict(_base_.giou_loss, _delete_=True, loss_weight=2.0)))
