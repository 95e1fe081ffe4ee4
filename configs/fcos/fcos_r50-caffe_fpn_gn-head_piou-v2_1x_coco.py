# FCOS R-50 GN-head 1x: sigmoid focal +
# Powerful-IoU v2 loss on decoded boxes (weight 1.0).
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/losses/piou-v2.py']
model = dict(
    bbox_head=dict(
        loss_bbox=dict(_base_.piou_v2_loss, _delete_=True, loss_weight=1.0)))
