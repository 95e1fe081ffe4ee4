# A reduced DINO (Zhang et al., arXiv:2203.03605; MMDetection's
# dino-4scale_r50_8xb2-12e_coco.py) for training from scratch on a CPU, focal +
# L1 + GIoU as DINO's own. What is reduced, for two cores and 128 px images with
# objects of 10-80 px: a ResNet-18 trained from scratch (BatchNorm trained), three
# levels (strides 8, 16, 32; 336 tokens at 128 px), two encoder and three decoder
# layers (FFN 512; the 256 dims are DINO's: its decoder's sine encoding of the
# reference boxes is fixed at 512 = 2 x 256), 30 matching and up to
# 30 denoising queries, at most 30 detections. The losses, their weights, the
# matcher and the denoising are DINO's.
model = dict(
    type='DINO',
    num_queries=30,
    with_box_refine=True,
    as_two_stage=True,
    num_feature_levels=3,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='ChannelMapper',
        in_channels=[128, 256, 512],
        kernel_size=1,
        out_channels=256,
        act_cfg=None,
        norm_cfg=dict(type='GN', num_groups=32),
        num_outs=3),
    encoder=dict(
        num_layers=2,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=256, num_levels=3, dropout=0.0),
            ffn_cfg=dict(embed_dims=256, feedforward_channels=512, ffn_drop=0.0))),
    decoder=dict(
        num_layers=3,
        return_intermediate=True,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=256, num_heads=8, dropout=0.0),
            cross_attn_cfg=dict(embed_dims=256, num_levels=3, dropout=0.0),
            ffn_cfg=dict(embed_dims=256, feedforward_channels=512, ffn_drop=0.0)),
        post_norm_cfg=None),
    positional_encoding=dict(
        num_feats=128, normalize=True, offset=0.0, temperature=20),
    bbox_head=dict(
        type='DINOHead',
        num_classes=3,
        sync_cls_avg_factor=True,
        loss_cls=dict(
            type='mmdet_losses.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='mmdet_losses.L1Loss', loss_weight=5.0),
        loss_iou=dict(type='mmdet_losses.GIoULoss', loss_weight=2.0)),
    dn_cfg=dict(
        label_noise_scale=0.5,
        box_noise_scale=1.0,
        group_cfg=dict(dynamic=True, num_groups=None, num_dn_queries=30)),
    train_cfg=dict(
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='FocalLossCost', weight=2.0),
                dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
                dict(type='IoUCost', iou_mode='giou', weight=2.0)
            ])),
    test_cfg=dict(max_per_img=30))
