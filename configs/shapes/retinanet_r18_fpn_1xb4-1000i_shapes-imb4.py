# Imbalance level 4: level 2 with 111 anchors per location: RetinaNet's aspects 1:2,
# 1:1, 2:1 and 34 that match no object (4:1 to 64:1 and their inverses, in steps of
# 2^(1/4)): 37,296 anchors per object, 31 times level 1, the same 8.8 positive
# anchors per object; 4,247 negatives per positive (30 times level 1).
_base_ = './retinanet_r18_fpn_1xb4-1000i_shapes-imb2.py'
model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            ratios=[0.5, 1.0, 2.0] + [4 * 2**(k / 4) for k in range(17)] +
            [1 / (4 * 2**(k / 4)) for k in range(17)])))
