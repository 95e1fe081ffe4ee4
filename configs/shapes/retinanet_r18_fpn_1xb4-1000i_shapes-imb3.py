# Imbalance level 3: level 2 with 27 anchors per location, the extra ones of aspect
# 1:4, 1:8, 1:16 and 4:1, 8:1, 16:1. No shape of the data matches them (IoU < 0.5 with
# every object: a 4:1 box of a square's area overlaps it by IoU 1/3), so they add
# background anchors only: 9,072 anchors per object (7.5 times level 1), still 8.8
# positive anchors per object; 1,031 negatives per positive.
_base_ = './retinanet_r18_fpn_1xb4-1000i_shapes-imb2.py'
model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            ratios=[1 / 16, 1 / 8, 1 / 4, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])))
