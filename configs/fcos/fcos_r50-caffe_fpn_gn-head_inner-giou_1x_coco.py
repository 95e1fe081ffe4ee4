# FCOS R-50 GN-head 1x: sigmoid focal + Inner-GIoU loss on decoded boxes (weight 1.0).
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/losses/inner-giou.py']
model = dict(
    bbox_head=dict(
        loss_bbox=dict(_base_.inner_giou_loss, _delete_=True, loss_weight=1.0)))
