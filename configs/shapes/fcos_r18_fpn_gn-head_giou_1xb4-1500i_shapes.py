# FCOS R-18-FPN from scratch on the shapes dataset, 128 px, on a CPU: sigmoid focal +
# GIoU on decoded boxes (weight 1.0), centre sampling, normalised distances and
# centre-ness on the regression branch (_base_/models/fcos_r18_fpn_gn.py): P3-P5,
# 128-channel GroupNorm FPN, a head of 2 convs, regression ranges for 10-80 px
# objects.
_base_ = [
    '../_base_/models/fcos_r18_fpn_gn.py',
    '../_base_/datasets/shapes_detection.py',
    '../_base_/schedules/shapes_adamw_1500i.py', '../_base_/shapes_runtime.py'
]
