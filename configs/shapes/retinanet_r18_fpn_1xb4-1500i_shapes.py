# RetinaNet R-18-FPN from scratch on the shapes dataset, 128 px, on a CPU: sigmoid
# focal + L1 (mmdet_losses). The model (_base_/models/retinanet_r18_fpn_gn.py): P3-P5
# (objects are 10-80 px), a 128-channel GroupNorm FPN, a head of 2 convs, anchors
# from 16 px.
_base_ = [
    '../_base_/models/retinanet_r18_fpn_gn.py',
    '../_base_/datasets/shapes_detection.py',
    '../_base_/schedules/shapes_adamw_1500i.py', '../_base_/shapes_runtime.py'
]
