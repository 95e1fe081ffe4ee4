# Generalized IoU loss (Rezatofighi et al., arXiv:1902.09630). Decoded boxes.
giou_loss = dict(type='mmdet_losses.GIoULoss')
