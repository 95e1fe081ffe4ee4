# FCOS R-50 GN-head 1x: binary cross-entropy (no focal term) + IoU loss.
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/losses/bce.py']
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.bce_loss, _delete_=True, loss_weight=1.0)))
