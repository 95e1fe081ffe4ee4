# Binary cross-entropy over C sigmoid logits: the focal loss at gamma=0 without
# alpha, the "CE" baseline of the RetinaNet paper (all anchors, normalised by the
# number of positives, prior-probability init of the head). Weight: the detector.
bce_loss = dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=True)
