# Imbalance level 2: one object per image (tools/make_shapes.py --preset single:
# data/shapes_single), RetinaNet's 9 anchors per location: 3,024 anchors per object,
# 2.5 times level 1; 8.8 positive anchors per object, 342 negatives per positive.
_base_ = './retinanet_r18_fpn_1xb4-1000i_shapes-imb1.py'
data_root = 'data/shapes_single/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
