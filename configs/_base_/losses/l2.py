# L2 (squared error) on the regression targets; no dense detector in the
# literature uses it, it is here as the textbook baseline.
l2_loss = dict(type='mmdet_losses.L2Loss')
