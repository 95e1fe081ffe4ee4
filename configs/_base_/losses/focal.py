# Sigmoid focal loss (Lin et al., arXiv:1708.02002): C sigmoid logits, the
# RetinaNet/FCOS default. gamma=2, alpha=0.25 as in the paper. Weight: the detector.
focal_loss = dict(
    type='mmdet_losses.FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)
