# Focaler-GIoU (Zhang & Zhang, arXiv:2401.10525): GIoU + IoU - IoU mapped linearly
# from [d, u] onto [0, 1]; (0.0, 0.95), the official code's default, saturates the
# IoU term of near-perfect boxes. Decoded boxes.
focaler_giou_loss = dict(type='mmdet_losses.GIoULoss', focaler_range=(0.0, 0.95))
