# Complete-IoU loss (Zheng et al., arXiv:1911.08287). Decoded boxes.
ciou_loss = dict(type='mmdet_losses.CIoULoss')
