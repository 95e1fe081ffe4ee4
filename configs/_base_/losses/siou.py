# SCYLLA-IoU loss (Gevorgyan, arXiv:2205.12740). Decoded boxes.
siou_loss = dict(type='mmdet_losses.SIoULoss')
