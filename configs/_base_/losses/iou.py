# IoU loss -log(IoU) (UnitBox, arXiv:1608.01471), the loss of the FCOS paper
# and MMDetection's IoULoss default. Decoded x1y1x2y2 boxes.
iou_loss = dict(type='mmdet_losses.IoULoss', mode='log')
