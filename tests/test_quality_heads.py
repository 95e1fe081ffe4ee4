"""The quality-aware heads (mmdet_losses.models): RetinaNet and FCOS whose
classification target is the IoU of each positive's predicted box with its ground
truth, fed to QFL and VFL as ``(labels, scores)``.

The constructed cases fix the regression output (zero conv weights, a chosen bias),
so every predicted box is known in closed form; the expected IoU targets are then
computed here with plain Python arithmetic, independently of the package geometry.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData
from torch import nn

import mmdet_losses  # noqa: F401  (registers the losses)
from mmdet_losses.losses import SPECS
from mmdet_losses.models import (QualityFCOSHead, QualityRetinaHead,
                                 iou_quality_target)
from train_utils import ROOT, make_data, tiny_config, train, train_records

QFL = dict(type='mmdet_losses.QualityFocalLoss', use_sigmoid=True, beta=2.0)
# every preset of every quality loss (the heads take any of them)
LOSSES = {preset.name: spec.config(preset) for spec in SPECS.values()
          if spec.kind == 'quality' for preset in spec.presets}
STRIDE, IMAGE, CHANNELS = 8, 32, 8
CONFIGS = osp.join(ROOT, 'configs')
TEST_CFG = ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)


def plain_iou(a, b):
    """IoU of two x1y1x2y2 boxes (Python floats)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


class Spy(nn.Module):
    """Records what a head passes to its loss, then computes the loss."""

    def __init__(self, loss):
        super().__init__()
        self.loss, self.calls = loss, []

    def forward(self, pred, target, weight=None, avg_factor=None, **kwargs):
        self.calls.append(dict(pred=pred, target=target, weight=weight,
                               avg_factor=avg_factor))
        return self.loss(pred, target, weight, avg_factor=avg_factor, **kwargs)


def lowest_loss_score(loss, labels, scores, num_classes):
    """Per positive, the class probability its loss is lowest at (QFL and VFL:
    its IoU), searched on a grid of 999 probabilities with the other classes at
    p = 1e-9."""
    p = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
    wanted = []
    for label, score in zip(labels.tolist(), scores.tolist()):
        pred = torch.full((len(p), num_classes), -20.7, dtype=torch.float64)
        pred[:, label] = torch.log(p) - torch.log1p(-p)
        target = (torch.full((len(p), ), label),
                  torch.full((len(p), ), score, dtype=torch.float64))
        values = loss(pred, target, reduction_override='none')
        values = values.sum(-1) if values.dim() == 2 else values
        wanted.append(p[values.argmin()])
    return torch.stack(wanted).to(scores.dtype) if wanted else scores


def retina_head(loss_cls=QFL, reg_decoded_bbox=True):
    # One level, one 16 px square anchor per cell, centred on the cell corners
    # (0, 8, 16, 24): anchor (x, y) = (8x - 8, 8y - 8, 8x + 8, 8y + 8).
    return QualityRetinaHead(
        num_classes=2, in_channels=CHANNELS, stacked_convs=1, feat_channels=CHANNELS,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=2,
                              scales_per_octave=1, ratios=[1.0], strides=[STRIDE]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        reg_decoded_bbox=reg_decoded_bbox,
        loss_cls=loss_cls,
        loss_bbox=dict(type='mmdet_losses.GIoULoss', loss_weight=2.0)
        if reg_decoded_bbox else dict(type='mmdet_losses.L1Loss'),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                          min_pos_iou=0, ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
            debug=False),
        test_cfg=TEST_CFG,
        init_cfg=None)


def fcos_head(loss_cls=QFL, **kwargs):
    # One level, points at the cell centres (4, 12, 20, 28).
    return QualityFCOSHead(
        num_classes=2, in_channels=CHANNELS, stacked_convs=1, feat_channels=CHANNELS,
        strides=[STRIDE], regress_ranges=((-1, 1e8), ), norm_cfg=None,
        loss_cls=loss_cls, loss_bbox=dict(type='mmdet_losses.GIoULoss'),
        test_cfg=TEST_CFG,
        init_cfg=None, **kwargs)


def inputs(boxes, labels, seed=0):
    generator = torch.Generator().manual_seed(seed)
    feats = (torch.randn(1, CHANNELS, IMAGE // STRIDE, IMAGE // STRIDE,
                         generator=generator), )
    gt = InstanceData(bboxes=torch.tensor(boxes), labels=torch.tensor(labels))
    meta = dict(img_shape=(IMAGE, IMAGE), pad_shape=(IMAGE, IMAGE), scale_factor=1.0)
    return feats, [gt], [meta]


def fix_regression(conv, bias):
    """Make a regression conv output ``bias`` everywhere."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.copy_(torch.tensor(bias))


# RetinaNet case. A (class 0) and B (class 1); anchor index = 4 y + x.
RETINA_GTS = [[8.0, 9.0, 24.0, 21.0], [0.0, 0.0, 10.0, 16.0]]
RETINA_LABELS = [0, 1]
# Anchor IoUs: A's best is anchor 10, (8, 8, 24, 24): 16 * 12 / 256 = 0.75, positive;
# B's best is anchor 5, (0, 0, 16, 16): 10 * 16 / 256 = 0.625, positive; anchor 4,
# (-8, 0, 8, 16) with B: 8 * 16 / (256 + 160 - 128) = 0.444, in [0.4, 0.5): ignored.
# Every other anchor is below 0.4 with both: negative.
RETINA_POSITIVES = {10: 0, 5: 1}
RETINA_IGNORED = {4}
# dx = 0.1 of the 16 px anchor width moves every predicted box 1.6 px right.
RETINA_DELTAS = [0.1, 0.0, 0.0, 0.0]
# Anchor 10: (9.6, 8, 25.6, 24) with A: 14.4 * 12 / (256 + 192 - 172.8) = 0.62791
# (the anchor itself would give 0.75: the target is the predicted box's IoU).
# Anchor 5: (1.6, 0, 17.6, 16) with B: 8.4 * 16 / (256 + 160 - 134.4) = 0.47727.
RETINA_EXPECTED = {10: 0.627907, 5: 0.477273}


def retina_expected_scores():
    scores = [0.0] * 16
    for index, gt in RETINA_POSITIVES.items():
        x, y = index % 4, index // 4
        shift = RETINA_DELTAS[0] * 16
        pred = (8 * x - 8 + shift, 8 * y - 8, 8 * x + 8 + shift, 8 * y + 8)
        scores[index] = plain_iou(pred, RETINA_GTS[gt])
    return torch.tensor(scores)


@pytest.mark.parametrize('reg_decoded_bbox', [True, False], ids=['decoded', 'deltas'])
def test_retina_target_is_the_predicted_box_iou(reg_decoded_bbox):
    head = retina_head(reg_decoded_bbox=reg_decoded_bbox).train()
    fix_regression(head.retina_reg, RETINA_DELTAS)
    head.loss_cls = Spy(head.loss_cls)
    head.loss_by_feat(*head(inputs(RETINA_GTS, RETINA_LABELS)[0]),
                      *inputs(RETINA_GTS, RETINA_LABELS)[1:])
    (call, ) = head.loss_cls.calls
    labels, scores = call['target']
    expected = retina_expected_scores()
    torch.testing.assert_close(scores, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(scores[list(RETINA_EXPECTED)],
                               torch.tensor(list(RETINA_EXPECTED.values())),
                               rtol=0, atol=1e-5)
    assert not scores.requires_grad
    expected_labels = torch.full((16, ), 2)
    for index, gt in RETINA_POSITIVES.items():
        expected_labels[index] = RETINA_LABELS[gt]
    assert labels.tolist() == expected_labels.tolist()
    # RetinaNet's conventions: ignored anchors weight 0, the rest 1; the average
    # over the 2 positives.
    weight = torch.ones(16)
    weight[list(RETINA_IGNORED)] = 0
    assert call['weight'].tolist() == weight.tolist()
    assert call['avg_factor'] == 2
    assert call['pred'].shape == (16, 2)


# FCOS case: C (class 1) holds the 9 points x, y in {4, 12, 20}; D (class 0) the
# point (28, 28). Every distance is exp(log 6) = 6: pred = (px - 6, py - 6, px + 6,
# py + 6). Point (12, 12): (6, 6, 18, 18) inside C: 144 / (20 * 24) = 0.3; point
# (4, 4): (-2, -2, 10, 10): 8 * 8 / (144 + 480 - 64) = 0.11429; point (28, 28):
# (22, 22, 34, 34) with D: 64 / 144 = 0.44444.
FCOS_GTS = [[2.0, 2.0, 22.0, 26.0], [24.0, 24.0, 32.0, 32.0]]
FCOS_LABELS = [1, 0]
FCOS_EXPECTED = {(12, 12): 0.3, (4, 4): 0.114286, (28, 28): 0.444444}


def fcos_expected():
    labels, scores = [2] * 16, [0.0] * 16
    for index in range(16):
        px, py = 8 * (index % 4) + 4, 8 * (index // 4) + 4
        for gt, label in zip(FCOS_GTS, FCOS_LABELS):
            if gt[0] < px < gt[2] and gt[1] < py < gt[3]:
                labels[index] = label
                scores[index] = plain_iou((px - 6, py - 6, px + 6, py + 6), gt)
    return torch.tensor(labels), torch.tensor(scores)


def test_fcos_target_is_the_predicted_box_iou():
    head = fcos_head().train()
    fix_regression(head.conv_reg, [float(torch.tensor(6.0).log())] * 4)
    head.loss_cls = Spy(head.loss_cls)
    feats, gts, metas = inputs(FCOS_GTS, FCOS_LABELS)
    head.loss_by_feat(*head(feats), gts, metas)
    (call, ) = head.loss_cls.calls
    labels, scores = call['target']
    expected_labels, expected_scores = fcos_expected()
    assert labels.tolist() == expected_labels.tolist()
    assert int((labels < 2).sum()) == 10
    torch.testing.assert_close(scores, expected_scores, rtol=0, atol=1e-5)
    for (px, py), value in FCOS_EXPECTED.items():
        index = 4 * (py // 8) + px // 8
        assert abs(scores[index].item() - value) < 1e-5, (px, py)
    assert not scores.requires_grad
    assert call['weight'] is None  # FCOS ignores no location
    assert float(call['avg_factor']) == 10.0


def test_iou_quality_target_hand_values():
    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0],
                         [0.0, 0.0, 2.0, 2.0], [float('inf'), 0.0, float('nan'), 1.0],
                         [5.0, 5.0, 5.0, 9.0]], requires_grad=True)
    target = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 4.0, 2.0],
                           [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0],
                           [4.0, 4.0, 8.0, 8.0]])
    labels = torch.tensor([0, 2, 3, 3, 1])  # num_classes = 3: 3 is background
    scores = iou_quality_target(pred, target, labels, num_classes=3)
    # 1 / (4 + 4 - 1) = 1/7; 8 / 16 = 0.5; background 0 (an identical box too); a
    # non-finite background box 0, not NaN; a zero-area positive box 0.
    torch.testing.assert_close(scores, torch.tensor([1 / 7, 0.5, 0.0, 0.0, 0.0]))
    assert not scores.requires_grad
    # Half-precision boxes are upcast once: float32 scores, the same values.
    half = iou_quality_target(pred.detach()[:3].half(), target[:3].half(), labels[:3], 3)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, torch.tensor([1 / 7, 0.5, 0.0]))
    with pytest.raises(ValueError, match=r'labels must have shape \(N,\)'):
        iou_quality_target(pred, target, labels[:2], num_classes=3)


@pytest.mark.parametrize('loss', list(LOSSES))
@pytest.mark.parametrize('builder', [retina_head, fcos_head], ids=['retina', 'fcos'])
def test_forward_backward_reaches_both_branches(builder, loss):
    torch.manual_seed(0)
    head = builder(LOSSES[loss]).train()
    assert type(head.loss_cls).__module__.startswith('mmdet_losses')
    feats, gts, metas = inputs(FCOS_GTS, FCOS_LABELS)
    losses = head.loss_by_feat(*head(feats), gts, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox'}  # no centre-ness
    total = sum(sum(v) if isinstance(v, list) else v for v in losses.values())
    assert torch.isfinite(total) and total.item() > 0
    total.backward()
    cls_conv = getattr(head, 'retina_cls', None) or head.conv_cls
    reg_conv = getattr(head, 'retina_reg', None) or head.conv_reg
    for conv in (cls_conv, reg_conv):
        assert torch.isfinite(conv.weight.grad).all()
        assert conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('builder', [retina_head, fcos_head], ids=['retina', 'fcos'])
def test_image_without_objects(builder):
    head = builder().train()
    head.loss_cls = Spy(head.loss_cls)
    feats, _, metas = inputs(FCOS_GTS, FCOS_LABELS)
    gts = [InstanceData(bboxes=torch.zeros(0, 4),
                        labels=torch.zeros(0, dtype=torch.long))]
    losses = head.loss_by_feat(*head(feats), gts, metas)
    (call, ) = head.loss_cls.calls
    # Every target 0, averaged over at least 1 (not divided by 0 positives).
    assert call['target'][1].abs().sum() == 0
    assert float(call['avg_factor']) == 1.0
    for key, value in losses.items():
        value = sum(value) if isinstance(value, list) else value
        assert torch.isfinite(value), key


@pytest.mark.parametrize('loss', list(LOSSES))
@pytest.mark.parametrize('builder', [retina_head, fcos_head], ids=['retina', 'fcos'])
def test_loss_falls_and_scores_learn_the_iou(builder, loss):
    torch.manual_seed(0)
    head = builder(LOSSES[loss]).train()
    head.loss_cls = Spy(head.loss_cls)
    feats, gts, metas = inputs(FCOS_GTS, FCOS_LABELS)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    history = []
    for _ in range(60):
        losses = head.loss_by_feat(*head(feats), gts, metas)
        total = sum(sum(v) if isinstance(v, list) else v for v in losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())

    def score_errors(call):
        labels, scores = call['target']
        positive = labels < 2
        probs = call['pred'].detach().sigmoid()
        wanted = lowest_loss_score(head.loss_cls.loss, labels[positive],
                                   scores[positive], num_classes=2)
        return ((probs[positive, labels[positive]] - wanted).abs().mean(),
                probs[~positive].max())

    # Measured: the loss falls to 0.06-0.29 of its start; the class probability of
    # the positives ends 0.04-0.08 from the score their loss is lowest at (QFL and
    # VFL: their IoU) on average (0.3-0.5 at the start,
    # from p = 0.5), the highest background probability below 0.13.
    assert history[-1] < 0.5 * history[0], history[::10]
    start_error, _ = score_errors(head.loss_cls.calls[0])
    end_error, background = score_errors(head.loss_cls.calls[-1])
    assert end_error < 0.15 and end_error < start_error / 2, (start_error, end_error)
    assert background < 0.2


def test_fcos_head_has_no_centerness_and_scores_by_class_alone():
    head = fcos_head().eval()
    assert not hasattr(head, 'conv_centerness')
    assert not hasattr(head, 'loss_centerness')
    feats, _, metas = inputs(FCOS_GTS, FCOS_LABELS)
    with torch.no_grad():
        outs = head(feats)
        assert len(outs) == 2  # (cls_scores, bbox_preds)
        results = head.predict_by_feat(*outs, batch_img_metas=metas)[0]
    top = outs[0][0].sigmoid().max()
    # The best detection's score is the best class probability, not multiplied by
    # anything.
    torch.testing.assert_close(results.scores.max(), top)


def test_heads_refuse_what_they_cannot_honour():
    with pytest.raises(ValueError, match='loss_centerness must be None'):
        fcos_head(loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True))
    with pytest.raises(ValueError, match='centerness_on_reg must be False'):
        fcos_head(centerness_on_reg=True)
    softmax = dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=False)
    for builder in (retina_head, fcos_head):
        with pytest.raises(ValueError, match=r'needs a sigmoid loss_cls'):
            builder(softmax)


def test_losses_agree_with_mmdetection_on_the_head_targets():
    """The head's (labels, scores) target gives our losses the value MMDetection's
    losses give on the same target (VFL's in its dense (N, C) form)."""
    from mmdet.models.losses import QualityFocalLoss, VarifocalLoss

    head = retina_head(LOSSES['vfl']).train()
    fix_regression(head.retina_reg, RETINA_DELTAS)
    head.loss_cls = Spy(head.loss_cls)
    feats, gts, metas = inputs(RETINA_GTS, RETINA_LABELS)
    head.loss_by_feat(*head(feats), gts, metas)
    (call, ) = head.loss_cls.calls
    pred, (labels, scores) = call['pred'].detach(), call['target']
    dense = torch.zeros_like(pred)
    positive = labels < 2
    dense[positive, labels[positive]] = scores[positive]
    for ours, theirs, target in (
            (head.loss_cls.loss, VarifocalLoss(), dense),
            (mmdet_losses.QualityFocalLoss(), QualityFocalLoss(), (labels, scores))):
        assert type(ours).__module__.startswith('mmdet_losses')
        value = ours(pred, (labels, scores), call['weight'],
                     avg_factor=call['avg_factor'])
        weight = call['weight'][:, None] if theirs.__class__ is VarifocalLoss \
            else call['weight']
        expected = theirs(pred, target, weight, avg_factor=call['avg_factor'])
        torch.testing.assert_close(value, expected)


@pytest.mark.parametrize('base, head_type', [
    ('shapes/retinanet_r18_fpn_giou_1xb4-1500i_shapes.py', QualityRetinaHead),
    ('shapes/fcos_r18_fpn_gn-head_giou_1xb4-1500i_shapes.py', QualityFCOSHead),
], ids=['retinanet', 'fcos'])
def test_ablation_grid_switches_to_the_quality_head(tmp_path, base, head_type):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from mmdet_losses_lab.ablation.grid import make_grid
    from mmdet_losses_lab.ablation.layout import inspect_detector

    base = osp.join(CONFIGS, base)
    plain_type = Config.fromfile(base).model.bbox_head.type
    runs = make_grid(['focal', *LOSSES], ['giou'], layout=inspect_detector(base))
    for name, run in ((r.cls_name, r) for r in runs):
        path = tmp_path / f'{name}.py'
        path.write_text(run.config_text())
        cfg = Config.fromfile(str(path))
        head_cfg = cfg.model.bbox_head
        if name == 'focal':
            assert head_cfg.type == plain_type
            assert 'mmdet_losses.models' not in cfg.custom_imports.imports
            continue
        assert head_cfg.type == f'mmdet_losses.{head_type.__name__}'
        assert head_cfg.loss_cls.type == LOSSES[name]['type']
        assert head_cfg.loss_cls.type.startswith('mmdet_losses.')
        if head_type is QualityFCOSHead:
            assert head_cfg.loss_centerness is None
            assert head_cfg.centerness_on_reg is False
        import_modules_from_strings(**cfg.custom_imports)
        init_default_scope('mmdet')
        model = MODELS.build(cfg.model)
        assert type(model.bbox_head) is head_type
        assert type(model.bbox_head.loss_cls).__module__.startswith('mmdet_losses')


@pytest.mark.parametrize('ours, zoo, losses', [
    ('gfl/gfl_r50_fpn_1x_coco.py', 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
     ('loss_cls', 'loss_bbox', 'loss_dfl')),
    ('vfnet/vfnet_r50_fpn_1x_coco.py', 'mmdet::vfnet/vfnet_r50_fpn_1x_coco.py',
     ('loss_cls', 'loss_bbox', 'loss_bbox_refine')),
], ids=['gfl', 'vfnet'])
def test_gfl_and_vfnet_are_the_zoo_configs_with_our_losses(ours, zoo, losses):
    from mmengine.hub import get_config

    mine = without_scope(Config.fromfile(osp.join(CONFIGS, ours)).to_dict())
    theirs = without_scope(get_config(zoo).to_dict())
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert mine[key] == theirs[key], key
    head, zoo_head = mine['model']['bbox_head'], theirs['model']['bbox_head']
    for key in losses:
        ours_loss, zoo_loss = dict(head.pop(key)), dict(zoo_head.pop(key))
        assert ours_loss.pop('type') == 'mmdet_losses.' + zoo_loss.pop('type')
        assert ours_loss == zoo_loss, key  # hyper-parameters and weight as upstream
    assert head == zoo_head
    for part in ('backbone', 'neck', 'train_cfg', 'test_cfg'):
        assert mine['model'][part] == theirs['model'][part], part


def without_scope(node):
    """A plain copy of a config node without the ``_scope_`` keys inheritance adds."""
    if isinstance(node, dict):
        return {k: without_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(without_scope(v) for v in node)
    return node


@pytest.mark.slow
def test_shapes_quality_config_trains(tmp_path):
    data_root = make_data(str(tmp_path / 'shapes'), num_train=16, num_val=8)
    base = osp.join(CONFIGS, 'shapes', 'fcos_r18_fpn_gn-head_vfl_1xb4-1500i_shapes.py')
    config = tiny_config(str(tmp_path), base, iters=6, batch=2, warmup=3)
    work_dir = str(tmp_path / 'work')
    train(config, work_dir, data_root)
    records = train_records(work_dir)
    assert [r['iter'] for r in records] == list(range(1, 7))
    assert 'loss_centerness' not in records[0]
    for record in records:
        for key in ('loss', 'loss_cls', 'loss_bbox'):
            assert record[key] == record[key] and abs(record[key]) < 1e6, record


def _fcos_loss_on_positives(head, cls_scores, bbox_preds, gts):
    """The loss step as written before it ran sync-free: the positives picked with
    ``nonzero``, Python ``max`` on the normalisers."""
    from mmdet.utils import reduce_mean
    points = head.prior_generator.grid_priors([s.shape[-2:] for s in cls_scores],
                                              dtype=bbox_preds[0].dtype, device='cpu')
    labels, bbox_targets = head.get_targets(points, gts)
    flat_cls = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, 2) for s in cls_scores])
    flat_pred = torch.cat([p.permute(0, 2, 3, 1).reshape(-1, 4) for p in bbox_preds])
    flat_labels, flat_targets = torch.cat(labels), torch.cat(bbox_targets)
    flat_points = torch.cat([level.repeat(1, 1) for level in points])
    pos = ((flat_labels >= 0) & (flat_labels < 2)).nonzero().reshape(-1)
    num_pos = max(reduce_mean(flat_pred.new_tensor(float(len(pos)))), 1.0)
    pred_boxes = head.bbox_coder.decode(flat_points[pos], flat_pred[pos])
    target_boxes = head.bbox_coder.decode(flat_points[pos], flat_targets[pos])
    scores = flat_pred.new_zeros(flat_labels.shape)
    from mmdet_losses.models.quality_target import iou_quality_target
    scores[pos] = iou_quality_target(pred_boxes, target_boxes, flat_labels[pos], 2)
    loss_cls = head.loss_cls(flat_cls, (flat_labels, scores), avg_factor=num_pos)
    centerness = head.centerness_target(flat_targets[pos])
    denorm = max(reduce_mean(centerness.sum().detach()), 1e-6)
    loss_bbox = head.loss_bbox(pred_boxes, target_boxes, weight=centerness,
                               avg_factor=denorm) if len(pos) else flat_pred[pos].sum()
    return loss_cls, loss_bbox


@pytest.mark.parametrize('objects', [True, False])
def test_fcos_loss_is_the_positives_loss_and_waits_for_nothing(objects, monkeypatch):
    """Every location enters the losses, the non-positives with weight 0: the same
    values and gradients as the loss over the positives alone, and after the
    targets are assigned no host synchronisation (nonzero, item, bool, float, int
    of a tensor) is made."""
    from mmdet_losses.losses.base import BaseLoss

    boxes, labels = (FCOS_GTS, FCOS_LABELS) if objects else ([], [])
    head = fcos_head().train()
    feats, gts, metas = inputs(boxes or torch.zeros(0, 4).tolist(), labels)
    gts[0].bboxes = gts[0].bboxes.reshape(-1, 4).float()
    gts[0].labels = gts[0].labels.long()
    outputs = head(feats)
    reference = _fcos_loss_on_positives(head, *outputs, gts)
    ref_grads = torch.autograd.grad(sum(reference), outputs[0] + outputs[1])

    targets = head.get_targets(
        head.prior_generator.grid_priors([outputs[0][0].shape[-2:]], device='cpu'), gts)
    monkeypatch.setattr(head, 'get_targets', lambda points, gts: targets)
    # BaseLoss checks labels on every CPU call (on an accelerator, on the first only)
    monkeypatch.setattr(BaseLoss, 'data_check_due', lambda self, tensor: False)

    def host_sync(*args, **kwargs):
        raise AssertionError('host synchronisation in the loss step')
    for name in ('nonzero', 'item', '__bool__', '__float__', '__int__', '__index__',
                 'tolist'):
        monkeypatch.setattr(torch.Tensor, name, host_sync)
    losses = head.loss_by_feat(*outputs, gts, metas)
    monkeypatch.undo()
    assert float(losses['loss_cls']) > 0
    assert (float(losses['loss_bbox']) > 0) == objects
    torch.testing.assert_close(losses['loss_cls'], reference[0], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(losses['loss_bbox'], reference[1], rtol=1e-6, atol=1e-7)
    grads = torch.autograd.grad(losses['loss_cls'] + losses['loss_bbox'],
                                outputs[0] + outputs[1])
    for got, expected in zip(grads, ref_grads):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
