# Balanced L1 (Libra R-CNN, Pang et al., arXiv:1904.02701): alpha=0.5, gamma=1.5 as in
# the paper; beta=0.11 is MMDetection's Libra RetinaNet value (its Libra Faster R-CNN
# uses 1.0 on the RoI head). On the regression targets (deltas).
balanced_l1_loss = dict(
    type='mmdet_losses.BalancedL1Loss', alpha=0.5, gamma=1.5, beta=0.11)
