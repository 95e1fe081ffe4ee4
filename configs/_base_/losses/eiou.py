# Efficient-IoU loss (Zhang et al., arXiv:2101.08158), without the focal term.
# Decoded boxes.
eiou_loss = dict(type='mmdet_losses.EIoULoss')
