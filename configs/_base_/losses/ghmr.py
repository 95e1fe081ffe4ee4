# GHM-R (Li et al., arXiv:1811.05181): ASL1 with mu=0.02, weighted by the inverse
# density of its gradient norm over 10 bins, momentum 0.7: the values of
# MMDetection's GHM RetinaNet. On the regression targets (deltas).
ghmr_loss = dict(type='mmdet_losses.GHMR', mu=0.02, bins=10, momentum=0.7)
