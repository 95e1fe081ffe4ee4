# Alpha-GIoU (He et al., arXiv:2110.13675): the GIoU terms raised to the power
# alpha=3, the value the paper recommends. Decoded boxes.
alpha_giou_loss = dict(type='mmdet_losses.GIoULoss', alpha=3.0)
