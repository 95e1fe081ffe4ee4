# RetinaNet R-50-FPN 1x: sigmoid focal + L2 on deltas (weight 1.0).
_base_ = ['./retinanet_r50_fpn_1x_coco.py', '../_base_/losses/l2.py']
model = dict(
    bbox_head=dict(
        loss_bbox=dict(_base_.l2_loss, _delete_=True, loss_weight=1.0)))
