# Wise-IoU v3 (Tong et al., arXiv:2301.10051): v1 with the dynamic
# non-monotonic focusing coefficient, the variant the paper recommends. Decoded boxes.
wiou_v3_loss = dict(type='mmdet_losses.WIoULoss', version='v3')
