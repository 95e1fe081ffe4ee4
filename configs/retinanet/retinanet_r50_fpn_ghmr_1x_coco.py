# RetinaNet R-50-FPN 1x: sigmoid focal + GHM-R on deltas (weight 10.0).
_base_ = ['./retinanet_r50_fpn_1x_coco.py', '../_base_/losses/ghmr.py']
model = dict(
    bbox_head=dict(
        loss_bbox=dict(_base_.ghmr_loss, _delete_=True, loss_weight=10.0)))
