# GHM RetinaNet R-50-FPN 1x (Li, Liu and Wang, arXiv:1811.05181) with this package's
# GHM-C and GHM-R in place of MMDetection's: mmdet's own config otherwise (gradient
# clipping at 35 included). Compare with MMDetection's model zoo, configs/ghm/README.md:
# retinanet_r50_fpn_ghm-1x_coco, 37.0 box AP on COCO val2017.
_base_ = [
    'mmdet::ghm/retinanet_r50_fpn_ghm-1x_coco.py', '../_base_/losses/ghmc.py',
    '../_base_/losses/ghmr.py'
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
# stop the run, naming the loss term, when a loss turns non-finite
custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.ghmc_loss, _delete_=True, loss_weight=1.0),
        loss_bbox=dict(_base_.ghmr_loss, _delete_=True, loss_weight=10.0)))
