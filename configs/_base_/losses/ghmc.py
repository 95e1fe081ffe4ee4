# GHM-C (Li, Liu and Wang, arXiv:1811.05181): BCE weighted by the inverse density of
# its gradient norm; the paper's RetinaNet setting: 30 bins, momentum 0.75.
ghmc_loss = dict(
    type='mmdet_losses.GHMC', bins=30, momentum=0.75, use_sigmoid=True)
