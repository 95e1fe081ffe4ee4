# Wise-IoU v1 (Tong et al., arXiv:2301.10051): IoU loss scaled by a
# centre-distance attention term. Decoded boxes.
wiou_v1_loss = dict(type='mmdet_losses.WIoULoss', version='v1')
