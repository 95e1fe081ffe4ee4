# Focal-EIoU (Zhang et al., arXiv:2101.08158): EIoU weighted by IoU^gamma,
# gamma=0.5 as in the paper. Decoded boxes.
focal_eiou_loss = dict(type='mmdet_losses.EIoULoss', focal_gamma=0.5)
