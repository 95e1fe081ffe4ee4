# Softmax focal loss over C + 1 logits (the last one is background): the
# multi-class form in the focal-loss paper; use_sigmoid=False makes the head predict
# C + 1 channels. gamma=2, alpha=0.25 as the sigmoid form. Weight: the detector.
softmax_focal_loss = dict(
    type='mmdet_losses.FocalLoss', use_sigmoid=False, gamma=2.0, alpha=0.25)
# The softmax counterpart of the heads' prior-probability init: background starts at
# 0.99, each class at 0.01 / C (mmdet_losses/engine/init.py). Replaces the heads'
# default init_cfg, whose equal biases would start the softmax uniform.
softmax_head_init = [
    dict(type='Normal', layer='Conv2d', std=0.01),
    dict(type='mmdet_losses.SoftmaxPriorInit', prior_prob=0.01)
]
