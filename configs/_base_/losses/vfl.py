# Varifocal Loss (Zhang et al., VarifocalNet, arXiv:2008.13367): BCE against the IoU
# target q of each positive, weighted by q (iou_weighted), and focal-down-weighted
# negatives, alpha * p^gamma; alpha=0.75, gamma=2 as in the paper. The head computes
# the target: mmdet_losses.QualityRetinaHead / QualityFCOSHead (import
# mmdet_losses.models), or MMDetection's VFNetHead. Weight: the detector.
vfl_loss = dict(
    type='mmdet_losses.VarifocalLoss',
    use_sigmoid=True,
    alpha=0.75,
    gamma=2.0,
    iou_weighted=True)
