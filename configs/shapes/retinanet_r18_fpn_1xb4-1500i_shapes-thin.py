# The shapes RetinaNet on localisation-hard data (tools/make_shapes.py --preset thin:
# data/shapes_thin; objects squeezed along x or y by up to 6:1, down to 4 px thick,
# 10-56 px long, no clutter: boxes of every aspect, many small, where a few pixels of
# error cost IoU 0.75), for comparing location losses: anchors of aspect 1:6 to 6:1
# (7 per scale, 21 per location) so that elongated objects get positive anchors
# (6.1 per object over the 2000 training images; 3.1 with RetinaNet's three aspects
# on the first 200). Sigmoid focal + L1 as
# the base config; the grid swaps the location loss (compare AP and AP75).
_base_ = './retinanet_r18_fpn_1xb4-1500i_shapes.py'
data_root = 'data/shapes_thin/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
model = dict(
    bbox_head=dict(
        anchor_generator=dict(ratios=[1 / 6, 1 / 3, 0.5, 1.0, 2.0, 3.0, 6.0])))
