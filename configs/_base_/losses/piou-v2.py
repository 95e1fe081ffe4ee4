# Powerful-IoU v2 (Liu et al., Neural Networks 2024): PIoU v1 times the
# non-monotonic attention u(lambda q); lambda=1.3 is the paper's value. Decoded boxes.
piou_v2_loss = dict(type='mmdet_losses.PIoULoss', version='v2', focus_lambda=1.3)
