# Inner-GIoU (Zhang et al., arXiv:2311.02877): GIoU + IoU - IoU of auxiliary boxes
# scaled by inner_ratio about their centres. A ratio below 1 sharpens the loss for the
# high-IoU samples of a general dataset (above 1 helps low-IoU, tiny objects); 0.7 is
# untuned. Decoded boxes.
inner_giou_loss = dict(type='mmdet_losses.GIoULoss', inner_ratio=0.7)
