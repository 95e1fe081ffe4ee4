# Softmax cross-entropy over C + 1 logits (the last one is background):
# use_sigmoid=False makes the head predict C + 1 channels. Weight: the detector.
softmax_ce_loss = dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=False)
# The softmax counterpart of the heads' prior-probability init: background starts at
# 0.99, each class at 0.01 / C (mmdet_losses/engine/init.py). Replaces the heads'
# default init_cfg, whose equal biases would start the softmax uniform.
softmax_head_init = [
    dict(type='Normal', layer='Conv2d', std=0.01),
    dict(type='mmdet_losses.SoftmaxPriorInit', prior_prob=0.01)
]
