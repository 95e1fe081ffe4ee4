# FCOS R-50 GN-head 1x with DIoU-NMS at test time (Zheng et al., arXiv:1911.08287):
# a box is suppressed only when IoU - (rho^2 / c^2)^beta with a kept box reaches the
# threshold, so neighbours with far-apart centres survive. Training is unchanged, so
# a checkpoint of fcos_r50-caffe_fpn_gn-head_1x_coco.py tests with this config as it
# is. Same threshold as the base (0.5), beta = 1 as in the paper; see docs/diou_nms.md.
_base_ = ['./fcos_r50-caffe_fpn_gn-head_1x_coco.py']
model = dict(test_cfg=dict(nms=dict(type='diou_nms', iou_threshold=0.5, beta=1.0)))
