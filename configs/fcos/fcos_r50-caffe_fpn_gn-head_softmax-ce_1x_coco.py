# FCOS R-50 GN-head 1x: softmax cross-entropy over C + 1 classes + IoU loss.
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../_base_/losses/softmax-ce.py']
custom_imports = dict(
    imports=['mmdet_losses', 'mmdet_losses.engine.init'],
    allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        loss_cls=dict(_base_.softmax_ce_loss, _delete_=True, loss_weight=1.0),
        init_cfg=_base_.softmax_head_init))
