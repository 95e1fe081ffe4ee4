# RetinaNet R-18-FPN from scratch on BCCD blood cells at 320 x 240, on a CPU: sigmoid
# focal + GIoU on decoded boxes (weight 2.0), mmdet_losses. The shapes recipe
# (AdamW, 1500 iterations of batch 4, GroupNorm FPN and head of 2 convs, trained
# BatchNorm backbone) with anchors for cells of 10 to 150 px: P3-P6 (strides 8 to
# 64), base size 2 x stride (16 to 200 px with the three octave scales).
_base_ = [
    '../_base_/models/retinanet_r18_fpn_gn.py',
    '../_base_/datasets/bccd_detection.py',
    '../_base_/schedules/shapes_adamw_1500i.py', '../_base_/shapes_runtime.py',
    '../_base_/losses/giou.py'
]
model = dict(
    neck=dict(num_outs=4),
    bbox_head=dict(
        reg_decoded_bbox=True,  # the loss compares x1y1x2y2 boxes
        anchor_generator=dict(octave_base_scale=2, strides=[8, 16, 32, 64]),
        loss_bbox=dict(_base_.giou_loss, _delete_=True, loss_weight=2.0)))
