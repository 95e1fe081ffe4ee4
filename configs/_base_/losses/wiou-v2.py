# Wise-IoU v2 (Tong et al., arXiv:2301.10051): v1 times the monotonic focusing
# coefficient (L_IoU / running mean)^gamma, gamma=0.5 as in the paper's code.
# Decoded boxes.
wiou_v2_loss = dict(type='mmdet_losses.WIoULoss', version='v2', gamma=0.5)
