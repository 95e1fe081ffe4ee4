# Distance-IoU loss (Zheng et al., arXiv:1911.08287). Decoded boxes.
diou_loss = dict(type='mmdet_losses.DIoULoss')
