# Quality Focal Loss (Li et al., GFL, arXiv:2006.04388): sigmoid BCE against a soft
# target, the IoU of each positive's predicted box with its ground truth (0 for the
# rest), scaled by |target - p|^beta; beta=2 as in the paper. The head computes the
# target: mmdet_losses.QualityRetinaHead / QualityFCOSHead (import
# mmdet_losses.models), or MMDetection's GFLHead. Weight: the detector.
qfl_loss = dict(type='mmdet_losses.QualityFocalLoss', use_sigmoid=True, beta=2.0)
