"""The DETR-family heads with the IoU-quality classification target
(``mmdet_losses.QualityDETRHead``, ``QualityDeformableDETRHead``,
``QualityDINOHead``): what ``loss_cls`` receives on every decoder layer, the
encoder's proposals and the denoising queries, parity with MMDetection's heads
where MMDetection computes the same target (its ``QualityFocalLoss`` branch), and a
training step with VFL and MAL. Models as in ``test_drop_in_detr.py``: MMDetection's
configs with a ResNet-18, two encoder and decoder layers, at most 100 queries."""
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_overlaps

import mmdet_losses.models  # noqa: F401  (registers the heads)
from mmdet_drop_in import (IMAGE_SIZE, data_sample, model_config,  # noqa: F401
                           one_thread)
from mmdet_losses.models import QUALITY_HEADS, QualityDINOHead
from mmdet_losses.registry import MODELS

pytestmark = pytest.mark.slow

CONFIGS = {
    'DETRHead': 'detr/detr_r50_8xb2-150e_coco.py',
    'DeformableDETRHead': 'deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
    'TwoStageDeformableDETRHead':
        'deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py',
    'DINOHead': 'dino/dino-4scale_r50_8xb2-12e_coco.py',
}
RESNET18_CHANNELS = {256: 64, 512: 128, 1024: 256, 2048: 512}
MMDET_QFL = dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0)


def build(config: str, head_type=None, loss_cls=None):
    model = model_config(config)
    model.pop('data_preprocessor')
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.in_channels = [RESNET18_CHANNELS[c] for c in model.neck.in_channels]
    for part in ('encoder', 'decoder'):
        model[part].num_layers = 2
    model.num_queries = min(model.num_queries, 100)
    if head_type is not None:
        model.bbox_head.type = head_type
    if loss_cls is not None:
        model.bbox_head.loss_cls = loss_cls
    torch.manual_seed(0)
    detector = MMDET_MODELS.build(model)
    detector.init_weights()
    return detector


def losses_of(detector, with_gt=True):
    image = torch.rand(1, 3, IMAGE_SIZE, IMAGE_SIZE,
                       generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    return detector.loss(image, [data_sample(with_gt)])


def ours(base_type: str) -> str:
    return QUALITY_HEADS[base_type]['type']


@pytest.mark.parametrize('name', list(CONFIGS))
def test_same_losses_as_mmdetection_with_its_quality_focal_loss(name):
    """MMDetection's DETR heads give its own QualityFocalLoss the IoU of each
    matched query (the one loss they recognise). With that loss, the heads here
    must give every loss of every decoder layer, the encoder and the denoising
    queries exactly MMDetection's values: the same targets, normalisation and
    names."""
    base = name.replace('TwoStage', '')
    theirs = losses_of(build(CONFIGS[name], loss_cls=MMDET_QFL))
    mine = losses_of(build(CONFIGS[name], ours(base), MMDET_QFL))
    assert mine.keys() == theirs.keys()
    if name == 'DINOHead':
        assert {'enc_loss_cls', 'dn_loss_cls', 'd0.dn_loss_cls'} <= set(mine)
    if name == 'TwoStageDeformableDETRHead':
        assert 'enc_loss_cls' in mine
    for key in theirs:
        assert float(mine[key].detach()) == pytest.approx(float(theirs[key]), rel=1e-5,
                                                 abs=1e-7), key
    assert float(mine['loss_cls']) > 0 and float(mine['loss_iou']) > 0


def recorded_targets(detector):
    """Every ``(labels, scores)`` target ``loss_cls`` receives, in call order."""
    calls = []
    forward = detector.bbox_head.loss_cls.forward

    def recording(pred, target, *args, **kwargs):
        calls.append((pred.detach(), target[0].clone(), target[1].clone()))
        return forward(pred, target, *args, **kwargs)

    detector.bbox_head.loss_cls.forward = recording
    return calls


def test_dino_scores_are_the_iou_of_each_matched_query():
    """Every call of DINO's loss_cls (two decoder layers, the encoder, two
    denoising layers) gets the IoU of each positive query's box with its ground
    truth, worked out here again from the head's own outputs and targets, and 0
    everywhere else; positives exist in every call."""
    detector = build(CONFIGS['DINOHead'], ours('DINOHead'),
                     dict(type='mmdet_losses.VarifocalLoss'))
    head = detector.bbox_head
    calls = recorded_targets(detector)
    seen = []
    original = head.quality_set_losses

    def spying(cls_scores, bbox_preds, targets, metas):
        labels = torch.cat(targets[0])
        boxes = torch.cat(targets[2])
        positive = labels < head.num_classes
        iou = bbox_overlaps(bbox_cxcywh_to_xyxy(bbox_preds.reshape(-1, 4).detach()),
                            bbox_cxcywh_to_xyxy(boxes), is_aligned=True)
        seen.append((labels, torch.where(positive, iou, torch.zeros_like(iou))))
        return original(cls_scores, bbox_preds, targets, metas)

    head.quality_set_losses = spying
    losses = losses_of(detector)
    # 2 decoder layers, the encoder's proposals, 2 layers of denoising queries
    assert len(calls) == len(seen) == 5
    for (_, labels, scores), (expected_labels, expected) in zip(calls, seen):
        assert torch.equal(labels, expected_labels)
        positive = labels < head.num_classes
        assert positive.any()
        assert torch.allclose(scores, expected, atol=1e-5)
        assert (scores[~positive] == 0).all() and (scores[positive] > 0).any()
    assert float(losses['dn_loss_cls']) > 0


@pytest.mark.parametrize('loss', ['VarifocalLoss', 'MatchabilityAwareLoss'])
@pytest.mark.parametrize('name', ['DETRHead', 'TwoStageDeformableDETRHead',
                                  'DINOHead'])
def test_vfl_and_mal_train_a_step_on_detr_heads(loss, name):
    """A step with and without ground truth: every loss finite; the classification
    losses above 0 both times, the box losses 0 without objects; gradients reach
    the classifier and are finite; a second step after one SGD update lowers the
    total loss on the same image (the target is learnable, not garbage)."""
    base = name.replace('TwoStage', '')
    detector = build(CONFIGS[name], ours(base), dict(type=f'mmdet_losses.{loss}'))
    assert type(detector.bbox_head.loss_cls).__name__ == loss
    empty = losses_of(detector, with_gt=False)
    for key, value in empty.items():
        assert torch.isfinite(value).all(), key
        if 'loss_cls' in key and 'dn_' not in key:
            assert float(value) > 0, key
        if 'loss_bbox' in key or 'loss_iou' in key:
            assert float(value) == 0, key
    optimizer = torch.optim.SGD(detector.parameters(), lr=1e-4)
    totals = []
    for _ in range(2):
        losses = losses_of(detector)
        total = sum(v.sum() for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        grads = [p.grad for p in detector.bbox_head.cls_branches.parameters()] \
            if hasattr(detector.bbox_head, 'cls_branches') else \
            [p.grad for p in detector.bbox_head.fc_cls.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
        optimizer.step()
        totals.append(float(total))
    assert totals[1] < totals[0]


@pytest.mark.parametrize('base', ['DETRHead', 'DINOHead'])
def test_a_loss_on_labels_is_refused_by_name(base):
    head = dict(type=ours(base), num_classes=3,
                loss_cls=dict(type='mmdet_losses.FocalLoss', use_sigmoid=True))
    if base == 'DINOHead':
        head.update(embed_dims=32, num_pred_layer=2, as_two_stage=True)
    else:
        head.update(embed_dims=32)
    with pytest.raises(TypeError, match=r'Quality\w+Head trains its classifier on '
                       r"the IoU .* got FocalLoss; use MMDetection's " + base):
        MODELS.build(head)


def test_no_denoising_queries_give_zero_losses_in_the_graph():
    head = MODELS.build(dict(type=ours('DINOHead'), num_classes=3, embed_dims=32,
                             num_pred_layer=2, as_two_stage=True,
                             loss_cls=dict(type='mmdet_losses.VarifocalLoss')))
    assert isinstance(head, QualityDINOHead)
    scores = torch.zeros(1, 0, 3, requires_grad=True)
    boxes = torch.zeros(1, 0, 4, requires_grad=True)
    losses = head._loss_dn_single(scores, boxes, [], [dict(img_shape=(8, 8))], {})
    for loss in losses:
        assert float(loss) == 0 and loss.requires_grad
