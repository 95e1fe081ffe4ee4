# FCOS R-18-FPN from scratch on BCCD blood cells at 320 x 240, on a CPU: sigmoid focal
# + GIoU on decoded boxes (weight 1.0), centre sampling, normalised distances and
# centre-ness on the regression branch (_base_/models/fcos_r18_fpn_gn.py), with the
# shapes recipe; P3-P6 (strides 8 to 64) and regression ranges for cells of 10 to
# 150 px.
_base_ = [
    '../_base_/models/fcos_r18_fpn_gn.py',
    '../_base_/datasets/bccd_detection.py',
    '../_base_/schedules/shapes_adamw_1500i.py', '../_base_/shapes_runtime.py'
]
model = dict(
    neck=dict(num_outs=4),
    bbox_head=dict(
        strides=[8, 16, 32, 64],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 1e8))))
