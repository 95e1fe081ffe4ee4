# L1 on the regression targets (deltas for RetinaNet, ltrb distances for FCOS).
l1_loss = dict(type='mmdet_losses.L1Loss')
