# Shape-IoU (Zhang & Zhang, arXiv:2312.17663): distance and shape costs weighted by
# the target's shape; scale=0 (equal weights) is the paper's default, theta=4 its
# shape-cost exponent. Decoded boxes.
shape_iou_loss = dict(type='mmdet_losses.ShapeIoULoss', scale=0.0, theta=4.0)
