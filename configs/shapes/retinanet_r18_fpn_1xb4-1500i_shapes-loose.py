# The shapes RetinaNet on hand-drawn-like boxes: the regular shapes (data/shapes) with
# every training and validation box loosened and jittered as annotators draw them
# (tools/noisy_boxes.py data/shapes --loosen 0.05 --jitter 0.03: each side 5% of the
# object's size outside it on average, scattered by 3%), both splits as on BCCD,
# whose boxes one set of annotators drew. Sigmoid focal + L1 as the base config; the
# grid swaps the location loss.
_base_ = './retinanet_r18_fpn_1xb4-1500i_shapes.py'
data_root = 'data/shapes/'
train_dataloader = dict(
    dataset=dict(ann_file='annotations/instances_train_loose.json'))
val_dataloader = dict(dataset=dict(ann_file='annotations/instances_val_loose.json'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val_loose.json')
test_evaluator = val_evaluator
