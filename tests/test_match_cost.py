"""BoxLossCost (mmdet_losses.models.match_cost): the Hungarian matcher's cost from a
box loss of this package, and the config doctor's warning where a DETR's IoU loss and
its matcher's IoU cost measure different things."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS
from mmdet.utils import register_all_modules

import mmdet_losses  # noqa: F401  (registers the losses and the cost)
from mmdet_losses.engine.doctor import check_config
from mmdet_losses.losses import SPECS
from mmdet_losses.registry import MODELS
from mmdet_losses.spec import BOXES

from mmdet_drop_in import (CONFIG_DIR, IMAGE_SIZE, check_loss_step,  # noqa: F401
                           data_sample, model_config)

register_all_modules()
BOX_LOSSES = [name for name, spec in SPECS.items() if spec.compares == BOXES]
# losses that need options to be built
OPTIONS = {'MPDIoULoss': dict(image_size=(128, 96))}


def boxes(n, seed, size=100.0):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size / 2 + 1
    return torch.cat([xy, xy + wh], 1)


def cost(loss, weight=2.0, **options):
    return TASK_UTILS.build(dict(type='mmdet_losses.BoxLossCost', weight=weight,
                                 loss=dict(type=f'mmdet_losses.{loss}', **options)))


def test_giou_cost_is_mmdets_iou_cost_plus_its_weight():
    pred, gt = InstanceData(bboxes=boxes(9, 0)), InstanceData(bboxes=boxes(4, 1))
    ours = cost('GIoULoss')(pred, gt)
    theirs = TASK_UTILS.build(dict(type='IoUCost', iou_mode='giou', weight=2.0))(
        pred, gt)
    # equal but for where each adds its eps to the union (about 1e-9 here)
    torch.testing.assert_close(ours, theirs + 2.0, rtol=0, atol=1e-7)


@pytest.mark.parametrize('name', BOX_LOSSES)
def test_every_box_loss_is_a_cost_equal_to_its_loss_pair_by_pair(name):
    pred, gt = boxes(5, 2), boxes(3, 3)
    options = OPTIONS.get(name, {})
    matrix = cost(name, weight=0.5, **options)(InstanceData(bboxes=pred),
                                               InstanceData(bboxes=gt))
    loss = MODELS.build(dict(type=f'mmdet_losses.{name}', reduction='none',
                             **options)).eval()
    for i in range(5):
        for j in range(3):
            value = loss(pred[i:i + 1], gt[j:j + 1]).reshape(())
            assert matrix[i, j].item() == pytest.approx(0.5 * value.item(),
                                                        rel=1e-9, abs=1e-12)


def test_matching_by_ciou_differs_from_matching_by_giou():
    """The confound the cost removes: on random sets of queries, the Hungarian
    assignment by CIoU (with the class and L1 costs of DETR) is not always the one by
    GIoU."""
    def assigner(iou_cost):
        return TASK_UTILS.build(dict(type='HungarianAssigner', match_costs=[
            dict(type='BBoxL1Cost', weight=5.0, box_format='xyxy'), iou_cost]))

    by_giou = assigner(dict(type='IoUCost', iou_mode='giou', weight=2.0))
    by_ciou = assigner(dict(type='mmdet_losses.BoxLossCost', weight=2.0,
                            loss=dict(type='mmdet_losses.CIoULoss')))
    differ = 0
    for seed in range(20):
        pred = InstanceData(bboxes=boxes(12, 10 + seed).float(),
                            scores=torch.zeros(12, 1))
        gt = InstanceData(bboxes=boxes(5, 100 + seed).float(),
                          labels=torch.zeros(5, dtype=torch.long))
        meta = dict(img_shape=(150, 150))
        a = by_giou.assign(pred, gt, img_meta=meta).gt_inds
        b = by_ciou.assign(pred, gt, img_meta=meta).gt_inds
        assert (a > 0).sum() == (b > 0).sum() == 5
        differ += int(not torch.equal(a, b))
    assert differ >= 1


def test_empty_and_half_precision():
    c = cost('CIoULoss')
    none = InstanceData(bboxes=torch.zeros(0, 4))
    some = InstanceData(bboxes=boxes(3, 4).float())
    assert c(none, some).shape == (0, 3) and c(some, none).shape == (3, 0)
    half = c(InstanceData(bboxes=boxes(3, 4).half()), some)
    assert half.dtype == torch.float16 and torch.isfinite(half).all()
    degenerate = InstanceData(bboxes=torch.tensor([[5.0, 5.0, 5.0, 5.0]]))
    assert torch.isfinite(c(degenerate, degenerate)).all()


@pytest.mark.parametrize('loss, weight, message', [
    (dict(type='mmdet_losses.FocalLoss'), 1.0, r"loss must be one of this package's "
     r"box losses \(type='mmdet_losses.<Name>', Name in IoULoss, .*\), got "
     r"type='mmdet_losses.FocalLoss'"),
    (dict(type='GIoULoss'), 1.0, r"got type='GIoULoss'"),
    (dict(type='mmdet_losses.GIoULoss'), -1.0, 'weight must be a number >= 0, got -1.0'),
])
def test_bad_arguments_are_named(loss, weight, message):
    with pytest.raises(ValueError, match=message):
        cost_cfg = dict(type='mmdet_losses.BoxLossCost', loss=loss, weight=weight)
        TASK_UTILS.build(cost_cfg)


DINO = 'dino/dino-4scale_r50_8xb2-12e_coco.py'


def dino(loss_iou=None, iou_cost=None):
    cfg = Config.fromfile(f'{CONFIG_DIR}/{DINO}')
    if loss_iou is not None:
        cfg.model.bbox_head.loss_iou = loss_iou
    if iou_cost is not None:
        cfg.model.train_cfg.assigner.match_costs[2] = iou_cost
    return cfg


CIOU = dict(type='mmdet_losses.CIoULoss', loss_weight=2.0)
CIOU_COST = dict(type='mmdet_losses.BoxLossCost', loss=dict(type='mmdet_losses.CIoULoss'),
                 weight=2.0)


@pytest.mark.parametrize('loss_iou, iou_cost, warned', [
    (None, None, False),                                          # MMDetection's own
    (dict(type='mmdet_losses.GIoULoss', loss_weight=2.0), None, False),
    (CIOU, None, True),
    (CIOU, CIOU_COST, False),
    (dict(type='mmdet_losses.GIoULoss', alpha=3.0, loss_weight=2.0), None, True),
    (dict(type='mmdet_losses.IoULoss', mode='linear', loss_weight=2.0),
     dict(type='IoUCost', iou_mode='iou', weight=2.0), False),
    (dict(type='mmdet_losses.IoULoss', mode='log', loss_weight=2.0),
     dict(type='IoUCost', iou_mode='iou', weight=2.0), True),
    (dict(type='mmdet_losses.GIoULoss', loss_weight=2.0), CIOU_COST, True),
])
def test_the_doctor_warns_where_loss_and_matcher_measure_differently(
        loss_iou, iou_cost, warned):
    findings = [f for f in check_config(dino(loss_iou, iou_cost))
                if 'matcher' in f.message]
    assert len(findings) == int(warned), findings
    if warned:
        (finding, ) = findings
        assert finding.level == 'warning'
        assert finding.path == 'model.bbox_head.loss_iou'
        assert 'model.train_cfg.assigner.match_costs[2]' in finding.message


def test_the_doctors_fix_is_a_config_that_builds():
    (finding, ) = check_config(dino(CIOU))
    fix = finding.message.split('write ', 1)[1].rsplit(' there.', 1)[0]
    built = TASK_UTILS.build(eval(fix))
    assert repr(built) == "BoxLossCost(loss={'type': 'mmdet_losses.CIoULoss'}, " \
        "weight=2.0)"


@pytest.mark.slow
def test_a_dino_step_matches_and_trains_by_ciou():
    model = copy.deepcopy(dino(CIOU, CIOU_COST).model)
    model.pop('data_preprocessor')
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.in_channels = [c // 4 for c in model.neck.in_channels]
    for part in ('encoder', 'decoder'):
        model[part].num_layers = 2
    model.num_queries = 100
    torch.manual_seed(0)
    detector = MMDET_MODELS.build(model)
    detector.init_weights()
    costs = detector.bbox_head.assigner.match_costs
    assert repr(costs[2]) == repr(TASK_UTILS.build(CIOU_COST))
    assert type(detector.bbox_head.loss_iou).__module__.startswith('mmdet_losses.')
    image = torch.rand(1, 3, IMAGE_SIZE, IMAGE_SIZE,
                       generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    losses = detector.loss(image, [data_sample(True)])
    totals = check_loss_step(losses, True, ('loss_bbox', 'loss_iou', 'dn_'), detector)
    assert totals['loss_iou'] > 0


def test_matching_leaves_a_running_mean_alone():
    c = cost('WIoULoss')
    before = c.loss.iou_loss_mean.clone()
    c(InstanceData(bboxes=boxes(6, 5)), InstanceData(bboxes=boxes(2, 6)))
    assert torch.equal(c.loss.iou_loss_mean, before) and not c.loss.training
