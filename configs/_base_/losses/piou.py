# Powerful-IoU v1 (Liu et al., Neural Networks 2024): 1 - IoU plus the
# target-size-adaptive penalty 1 - exp(-P^2). Decoded boxes.
piou_loss = dict(type='mmdet_losses.PIoULoss', version='v1')
