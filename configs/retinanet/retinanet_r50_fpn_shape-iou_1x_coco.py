# RetinaNet R-50-FPN 1x: sigmoid focal + Shape-IoU loss on decoded boxes (weight 2.0).
_base_ = ['./retinanet_r50_fpn_1x_coco.py', '../_base_/losses/shape-iou.py']
model = dict(
    bbox_head=dict(
        reg_decoded_bbox=True,  # the loss compares x1y1x2y2 boxes
        loss_bbox=dict(_base_.shape_iou_loss, _delete_=True, loss_weight=2.0)))
