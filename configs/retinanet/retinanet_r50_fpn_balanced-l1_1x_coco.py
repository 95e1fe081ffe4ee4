# RetinaNet R-50-FPN 1x: sigmoid focal + Balanced L1 (beta 0.11) on deltas (weight 1.0).
_base_ = ['./retinanet_r50_fpn_1x_coco.py', '../_base_/losses/balanced-l1.py']
model = dict(
    bbox_head=dict(
        loss_bbox=dict(_base_.balanced_l1_loss, _delete_=True, loss_weight=1.0)))
