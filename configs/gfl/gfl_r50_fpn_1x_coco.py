# GFL R-50-FPN 1x on COCO (Li et al., arXiv:2006.04388): MMDetection's config (model
# zoo: 40.2 box AP, MMDetection's configs/gfl/README.md) with its three losses
# replaced by mmdet_losses' own, hyper-parameters and weights as upstream: Quality
# Focal Loss (beta 2, weight 1.0), Distribution Focal Loss (weight 0.25), GIoU
# (weight 2.0). MMDetection's GFLHead computes the IoU-quality targets itself.
_base_ = [
    'mmdet::gfl/gfl_r50_fpn_1x_coco.py', '../_base_/losses/qfl.py',
    '../_base_/losses/giou.py'
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
# stop the run, naming the loss term, when a loss turns non-finite
custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.qfl_loss, _delete_=True, loss_weight=1.0),
        loss_dfl=dict(
            type='mmdet_losses.DistributionFocalLoss',
            _delete_=True,
            loss_weight=0.25),
        loss_bbox=dict(_base_.giou_loss, _delete_=True, loss_weight=2.0)))
