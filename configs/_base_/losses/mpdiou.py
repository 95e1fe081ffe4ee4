# MPDIoU (Ma & Xu, arXiv:2307.07662): 1 - IoU plus the squared distances of the
# top-left and bottom-right corners over W^2 + H^2. The paper's W, H are the input
# image's size: the network sees COCO images resized to fit 1333 x 800 (keep ratio)
# and padded, so (1333, 800) is the input size of the 1x COCO pipeline. Decoded boxes.
mpdiou_loss = dict(type='mmdet_losses.MPDIoULoss', image_size=(1333, 800))
