# FCOS R-18-FPN for training from scratch on a CPU: sigmoid focal + GIoU on decoded
# boxes (weight 1.0, FCOS's own), with the improvements MMDetection's
# "center-normbbox-centeronreg-giou" FCOS uses: centre sampling, distances divided by
# the stride, centre-ness on the regression branch. Sized as the CPU RetinaNet
# (retinanet_r18_fpn_gn.py): P3-P5, 128-channel GroupNorm FPN and a head of 2 convs;
# regression ranges for 10-80 px objects.
_base_ = ['../losses/focal.py', '../losses/giou.py']
model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[64, 128, 256, 512],
        out_channels=128,
        start_level=1,
        add_extra_convs='on_output',
        num_outs=3,
        relu_before_extra_convs=True,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
    bbox_head=dict(
        type='FCOSHead',
        num_classes=3,
        in_channels=128,
        stacked_convs=2,
        feat_channels=128,
        strides=[8, 16, 32],
        regress_ranges=((-1, 16), (16, 32), (32, 1e8)),
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        loss_cls=dict(_base_.focal_loss, loss_weight=1.0),
        loss_bbox=dict(_base_.giou_loss, loss_weight=1.0),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100))
