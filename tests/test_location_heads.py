"""Each location loss as ``loss_bbox`` of a tiny RetinaHead (decoded boxes, (N, 4)
box weights) and a tiny FCOSHead ((N,) centerness weights, avg_factor): one
forward/backward through MMDetection's ``loss_by_feat`` on CPU."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmdet.models.dense_heads import FCOSHead, RetinaHead

LOSS_BBOX = {
    'l1': dict(type='mmdet_losses.L1Loss'),
    'l2': dict(type='mmdet_losses.L2Loss', loss_weight=0.01),
    'smooth_l1': dict(type='mmdet_losses.SmoothL1Loss', beta=1.0),
    'iou_log': dict(type='mmdet_losses.IoULoss', mode='log'),
    'iou_linear': dict(type='mmdet_losses.IoULoss', mode='linear'),
    'giou': dict(type='mmdet_losses.GIoULoss'),
    'alpha_giou': dict(type='mmdet_losses.GIoULoss', alpha=3.0),
    'diou': dict(type='mmdet_losses.DIoULoss'),
    'ciou': dict(type='mmdet_losses.CIoULoss'),
    'ciou_gated': dict(type='mmdet_losses.CIoULoss', aspect_iou_threshold=0.5),
    'eiou': dict(type='mmdet_losses.EIoULoss'),
    'focal_eiou': dict(type='mmdet_losses.EIoULoss', focal_gamma=0.5),
    'siou': dict(type='mmdet_losses.SIoULoss'),
    'wiou_v1': dict(type='mmdet_losses.WIoULoss', version='v1'),
    'wiou_v3': dict(type='mmdet_losses.WIoULoss', version='v3'),
    'nwd': dict(type='mmdet_losses.NWDLoss'),
    'mpdiou': dict(type='mmdet_losses.MPDIoULoss', image_size=(64, 64)),
    'shape_iou': dict(type='mmdet_losses.ShapeIoULoss'),
    'shape_iou_scaled': dict(type='mmdet_losses.ShapeIoULoss', scale=1.0),
    'piou': dict(type='mmdet_losses.PIoULoss'),
    'piou_v2': dict(type='mmdet_losses.PIoULoss', version='v2'),
    'wiou_v2': dict(type='mmdet_losses.WIoULoss', version='v2'),
    'inner_giou': dict(type='mmdet_losses.GIoULoss', inner_ratio=0.7),
    'focaler_giou': dict(type='mmdet_losses.GIoULoss', focaler_range=(0.0, 0.95)),
    'inner_focaler_ciou': dict(type='mmdet_losses.CIoULoss', inner_ratio=1.3,
                               focaler_range=(0.1, 0.9)),
    'inner_mpdiou': dict(type='mmdet_losses.MPDIoULoss', image_size=(64, 64),
                         inner_ratio=0.8),
    'balanced_l1': dict(type='mmdet_losses.BalancedL1Loss', beta=0.11),
    'ghmr': dict(type='mmdet_losses.GHMR', momentum=0.7, loss_weight=10.0),
}
STRIDES = (8, 16)
IMAGE = 64
CHANNELS = 8


def _retina(loss_bbox):
    return RetinaHead(
        num_classes=2, in_channels=CHANNELS, stacked_convs=1, feat_channels=CHANNELS,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=1, ratios=[0.5, 1.0, 2.0],
                              strides=list(STRIDES)),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        reg_decoded_bbox=True,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25),
        loss_bbox=loss_bbox,
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                          min_pos_iou=0, ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
            debug=False))


def _fcos(loss_bbox):
    return FCOSHead(
        num_classes=2, in_channels=CHANNELS, stacked_convs=1, feat_channels=CHANNELS,
        strides=list(STRIDES), regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=None,
        loss_bbox=loss_bbox)


def _inputs():
    generator = torch.Generator().manual_seed(0)
    feats = tuple(torch.randn(1, CHANNELS, IMAGE // s, IMAGE // s, generator=generator)
                  for s in STRIDES)
    gt = InstanceData(bboxes=torch.tensor([[6.0, 8.0, 38.0, 36.0],
                                           [30.0, 18.0, 60.0, 62.0]]),
                      labels=torch.tensor([0, 1]))
    meta = dict(img_shape=(IMAGE, IMAGE), pad_shape=(IMAGE, IMAGE), scale_factor=1.0)
    return feats, [gt], [meta]


@pytest.mark.parametrize('head_builder', [_retina, _fcos], ids=['retina', 'fcos'])
@pytest.mark.parametrize('name', list(LOSS_BBOX))
def test_head_forward_backward(head_builder, name):
    torch.manual_seed(0)
    head = head_builder(LOSS_BBOX[name]).train()
    assert type(head.loss_bbox).__module__.startswith('mmdet_losses')
    feats, gts, metas = _inputs()
    losses = head.loss_by_feat(*head(feats), gts, metas)
    loss_bbox = sum(losses['loss_bbox']) if isinstance(losses['loss_bbox'], list) \
        else losses['loss_bbox']
    assert torch.isfinite(loss_bbox) and loss_bbox.item() > 0, loss_bbox
    total = sum(sum(v) if isinstance(v, list) else v for v in losses.values())
    total.backward()
    reg_layer = head.retina_reg if head_builder is _retina else head.conv_reg
    assert torch.isfinite(reg_layer.weight.grad).all()
    assert reg_layer.weight.grad.abs().sum() > 0
    for param_name, param in head.named_parameters():
        if param.grad is not None:
            assert torch.isfinite(param.grad).all(), param_name
    if name in ('wiou_v2', 'wiou_v3'):   # the running mean moved in train mode
        assert head.loss_bbox.iou_loss_mean.item() < 1.0
    if name == 'ghmr':   # so did GHM-R's bin counts
        assert head.loss_bbox.acc_sum.sum().item() > 0
