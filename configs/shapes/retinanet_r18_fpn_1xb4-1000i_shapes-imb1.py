# Imbalance level 1 of the Focal Loss paper's question on the shapes data (does
# focal overtake cross-entropy as the background anchors outnumber the objects?):
# the shapes RetinaNet on data/shapes, 1,204 anchors per object (3,024 anchors, 2.5
# objects per image; 8.4 positive anchors per object, 141 negatives per positive,
# over the 2000 training images). 1000 iterations (warm-up 50, cosine) instead of
# 1500: about 5 minutes a run at the shapes RetinaNet's 0.25-0.35 s per iteration on
# two cores. Levels 2-4 (-imb2, -imb3, -imb4) change only the data or the anchors.
# Counts: python -m mmdet_losses_lab.data.imbalance configs/shapes/*_shapes-imb*.py
_base_ = './retinanet_r18_fpn_1xb4-1500i_shapes.py'
max_iters = 1000
warmup_iters = 50
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=1e-5,
         by_epoch=False, begin=warmup_iters, end=max_iters)
]
