# Smooth L1 (Fast R-CNN) with beta=0.11 (~1/9), the value of the original
# Detectron RetinaNet and of MMDetection 1.x's RetinaNet configs.
smooth_l1_loss = dict(type='mmdet_losses.SmoothL1Loss', beta=0.11)
