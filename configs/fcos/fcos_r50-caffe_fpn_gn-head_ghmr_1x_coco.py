# FCOS R-50 GN-head 1x: sigmoid focal +
# GHM-R on stride-normalised distances (weight 10.0).
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/losses/ghmr.py']
model = dict(
    bbox_head=dict(
        norm_on_bbox=True,  # distances in strides: O(1) targets
        loss_bbox=dict(_base_.ghmr_loss, _delete_=True, loss_weight=10.0)))
