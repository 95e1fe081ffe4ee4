# RetinaNet R-50-FPN 1x: binary cross-entropy (no focal term) + L1.
_base_ = ['./retinanet_r50_fpn_1x_coco.py', '../_base_/losses/bce.py']
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.bce_loss, _delete_=True, loss_weight=1.0)))
