# The demo (tools/demo.py): RetinaNet R-18-FPN from scratch on shapes with sigmoid
# focal + GIoU on decoded boxes (weight 2.0, the dense-head value), mmdet_losses.
_base_ = ['./retinanet_r18_fpn_1xb4-1500i_shapes.py', '../_base_/losses/giou.py']
model = dict(
    bbox_head=dict(
        reg_decoded_bbox=True,  # the loss compares x1y1x2y2 boxes
        loss_bbox=dict(_base_.giou_loss, _delete_=True, loss_weight=2.0)))
