# FCOS R-50 GN-head 1x: sigmoid focal + Alpha-GIoU loss (alpha 3) on decoded boxes.
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/losses/alpha-giou.py']
model = dict(
    bbox_head=dict(
        loss_bbox=dict(_base_.alpha_giou_loss, _delete_=True, loss_weight=1.0)))
