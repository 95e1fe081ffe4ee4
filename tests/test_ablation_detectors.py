"""The ablation grid on MMDetection's detectors: where each keeps its losses, the
head options each run needs, what is refused up front, and the one source of the
loss settings (the grid's table, which configs/_base_/losses/ and the detector
variants under configs/ must agree with)."""
import functools
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdet_losses.losses import SPECS
from mmdet_losses_lab.ablation import (CATEGORY_LOSSES, LOCATION_LOSSES,
                                   IncompatibleSetting, inspect_detector, make_grid)
from mmdet_losses_lab.ablation.layout import resolve_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHAPES_RETINANET = osp.join(REPO, 'configs/shapes/retinanet_r18_fpn_1xb4-1500i_shapes.py')
COCO_RETINANET = osp.join(REPO, 'configs/retinanet/retinanet_r50_fpn_1x_coco.py')
COCO_FCOS = osp.join(REPO, 'configs/fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py')
ATSS = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
GFL = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'
FASTER_RCNN = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
CASCADE_RCNN = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
# the losses that take (labels, IoU score) targets, as the refusals list them
QUALITY = [name for name, spec in SPECS.items() if spec.kind == 'quality']
# Two objects in a 128 px image: 60 x 70 and 60 x 42 px.
GT_BOXES = torch.tensor([[10.0, 20.0, 70.0, 90.0], [60.0, 8.0, 120.0, 50.0]])


@functools.lru_cache(maxsize=None)
def layout_of(base):
    return inspect_detector(base)


def run_config(tmp_path, base, cls, reg):
    """The generated config of the single run ``cls`` x ``reg`` on ``base``."""
    (run,) = make_grid([cls], [reg], layout=layout_of(base))
    path = tmp_path / f'{run.name}.py'
    path.write_text(run.config_text())
    return Config.fromfile(str(path))


def build(cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    register_all_modules(init_default_scope=False)
    import_modules_from_strings(**cfg.get('custom_imports', dict(imports=[])))
    with DefaultScope.overwrite_default_scope('mmdet'):  # as the runner does
        return MODELS.build(cfg.model)


def capture(loss_module):
    """Record the ``(pred, target)`` rows of every call of ``loss_module`` that
    carry weight (anchor heads pass every anchor, zero-weighted but positives)."""
    calls = []
    forward = loss_module.forward

    def recording(pred, target, weight=None, *args, **kwargs):
        keep = torch.ones(len(pred), dtype=torch.bool) if weight is None else (
            weight.reshape(len(pred), -1) > 0).any(-1)
        calls.append((pred.detach()[keep], target.detach()[keep]))
        return forward(pred, target, weight, *args, **kwargs)

    loss_module.forward = recording
    return calls


def train_losses(model):
    """``model.loss`` on one 128 px image holding :data:`GT_BOXES`."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    torch.manual_seed(0)
    sample = DetDataSample(metainfo=dict(
        img_shape=(128, 128), ori_shape=(128, 128), pad_shape=(128, 128),
        batch_input_shape=(128, 128), scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=GT_BOXES.clone(),
                                       labels=torch.tensor([0, 1]))
    image = torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8)
    data = model.data_preprocessor({'inputs': [image], 'data_samples': [sample]},
                                   training=True)
    model.train()
    return model.loss(data['inputs'], data['data_samples'])


def assert_targets_are_gt_boxes(calls):
    assert calls and any(len(t) for _, t in calls), 'no positive reached the loss'
    for _, target in calls:
        # every target row is one of the ground-truth boxes, in pixels
        distance = (target[:, None, :] - GT_BOXES[None]).abs().amax(-1).amin(-1)
        assert torch.allclose(distance, torch.zeros_like(distance), atol=1e-3), \
            target


def assert_ours(module, name):
    assert type(module).__module__.startswith('mmdet_losses'), type(module)
    assert type(module).__name__ == name


def test_faster_rcnn_losses_in_rpn_and_roi_heads(tmp_path):
    # Before: the run's config wrote model.bbox_head, which Faster R-CNN does not
    # have ("'ConfigDict' object has no attribute 'bbox_head'").
    cfg = run_config(tmp_path, FASTER_RCNN, 'ce', 'giou')
    assert 'bbox_head' not in cfg.model
    rpn, roi = cfg.model.rpn_head, cfg.model.roi_head.bbox_head
    assert (rpn.reg_decoded_bbox, roi.reg_decoded_bbox) == (True, True)
    assert dict(rpn.loss_bbox) == {'type': 'mmdet_losses.GIoULoss', 'loss_weight': 2.0}
    assert dict(roi.loss_bbox) == {'type': 'mmdet_losses.GIoULoss',
                                   'loss_weight': 10.0}
    # the RPN keeps its objectness loss; the RoI head scores the classes
    assert rpn.loss_cls.type == 'CrossEntropyLoss' and rpn.loss_cls.use_sigmoid
    assert roi.loss_cls.type == 'mmdet_losses.CrossEntropyLoss'
    assert roi.loss_cls.use_sigmoid is False and 'init_cfg' not in roi
    model = build(cfg)
    assert_ours(model.roi_head.bbox_head.loss_bbox, 'GIoULoss')
    assert_ours(model.roi_head.bbox_head.loss_cls, 'CrossEntropyLoss')
    rpn_calls = capture(model.rpn_head.loss_bbox)
    roi_calls = capture(model.roi_head.bbox_head.loss_bbox)
    losses = train_losses(model)
    assert_targets_are_gt_boxes(rpn_calls)
    assert_targets_are_gt_boxes(roi_calls)
    for name in ('loss_rpn_bbox', 'loss_bbox', 'loss_cls'):
        value = sum(losses[name]) if isinstance(losses[name], list) else losses[name]
        assert torch.isfinite(value) and value > 0, (name, value)


def test_cascade_rcnn_every_stage(tmp_path):
    cfg = run_config(tmp_path, CASCADE_RCNN, 'ce', 'l1')
    stages = cfg.model.roi_head.bbox_head
    assert len(stages) == 3
    for stage in stages:
        assert dict(stage.loss_bbox) == {'type': 'mmdet_losses.L1Loss',
                                         'loss_weight': 1.0}
        assert stage.reg_decoded_bbox is False
        assert stage.loss_cls.type == 'mmdet_losses.CrossEntropyLoss'
    # the rest of each stage is the base's (a list is written whole)
    assert [s.bbox_coder.target_stds[0] for s in stages] == [0.1, 0.05, 0.033]


def test_atss_coordinate_loss_compares_boxes(tmp_path):
    # ATSS decodes its predictions before every location loss: with
    # reg_decoded_bbox=False the targets stay deltas (boxes vs deltas, loss 357).
    cfg = run_config(tmp_path, ATSS, 'focal', 'l1')
    assert cfg.model.bbox_head.reg_decoded_bbox is True
    assert dict(cfg.model.bbox_head.loss_bbox) == {'type': 'mmdet_losses.L1Loss',
                                                   'loss_weight': 1.0}
    model = build(cfg)
    assert_ours(model.bbox_head.loss_bbox, 'L1Loss')
    calls = capture(model.bbox_head.loss_bbox)
    losses = train_losses(model)
    assert_targets_are_gt_boxes(calls)
    assert all(torch.isfinite(v).all() for v in losses['loss_bbox'])


def test_atss_softmax_ce_trains_from_the_background_prior(tmp_path):
    cfg = run_config(tmp_path, ATSS, 'ce', 'giou')
    model = build(cfg)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):  # as the runner does
        model.bbox_head.init_weights()
    channels = model.bbox_head.cls_out_channels
    assert channels == 81
    bias = model.bbox_head.atss_cls.bias.detach().view(-1, channels)
    # background 0.99, each of the 80 classes 0.01 / 80
    assert torch.allclose(bias.softmax(-1)[:, -1], torch.tensor(0.99))
    losses = train_losses(model)
    assert all(torch.isfinite(v).all() for v in losses['loss_cls'])


def test_gfl_keeps_a_quality_loss(tmp_path):
    cfg = run_config(tmp_path, GFL, 'qfl', 'giou')
    head = cfg.model.bbox_head
    assert head.loss_cls.type == 'mmdet_losses.QualityFocalLoss'
    assert dict(head.loss_bbox) == {'type': 'mmdet_losses.GIoULoss', 'loss_weight': 2.0}
    assert head.loss_dfl.type == 'DistributionFocalLoss'  # kept
    model = build(cfg)
    assert_ours(model.bbox_head.loss_cls, 'QualityFocalLoss')
    losses = train_losses(model)
    for name in ('loss_cls', 'loss_bbox', 'loss_dfl'):
        assert all(torch.isfinite(v).all() for v in losses[name])


VFNET = 'mmdet::vfnet/vfnet_r50_fpn_1x_coco.py'


@pytest.mark.parametrize('cls, loss_key, use_vfl', [
    ('focal', 'loss_cls_fl', False), ('mal', 'loss_cls', True)])
def test_vfnet_takes_both_box_losses_and_either_kind_of_category_loss(
        tmp_path, cls, loss_key, use_vfl):
    """Before, VFNet was refused (its second location loss, loss_bbox_refine)."""
    cfg = run_config(tmp_path, VFNET, cls, 'ciou')
    head = cfg.model.bbox_head
    assert head.use_vfl is use_vfl
    assert head[loss_key].type == CATEGORY_LOSSES[cls]['type']
    assert dict(head.loss_bbox) == {'type': 'mmdet_losses.CIoULoss', 'loss_weight': 1.5}
    assert dict(head.loss_bbox_refine) == {'type': 'mmdet_losses.CIoULoss',
                                           'loss_weight': 2.0}
    model = build(cfg)
    assert_ours(model.bbox_head.loss_cls, CATEGORY_LOSSES[cls]['type'].split('.')[-1])
    assert_ours(model.bbox_head.loss_bbox_refine, 'CIoULoss')
    losses = train_losses(model)
    for name in ('loss_cls', 'loss_bbox', 'loss_bbox_rf'):
        assert torch.isfinite(losses[name]) and losses[name] > 0, name
    with pytest.raises(IncompatibleSetting, match='decoded boxes in pixels: L1Loss'):
        make_grid(['focal'], ['l1'], layout=layout_of(VFNET))


TOOD = 'mmdet::tood/tood_r50_fpn_1x_coco.py'


def tood_losses(cfg, epoch):
    """TOOD's losses on :data:`GT_BOXES` in ``epoch`` (TOOD reads it from the
    message hub: before ``initial_epoch`` it trains ``initial_loss_cls`` on labels,
    from it ``loss_cls`` on alignment-metric targets)."""
    from mmengine.logging import MessageHub
    MessageHub.get_current_instance().update_info('epoch', epoch)
    torch.manual_seed(0)
    model = build(cfg)
    return model, train_losses(model)


@pytest.mark.slow
@pytest.mark.parametrize('cls, key, epoch', [('focal', 'initial_loss_cls', 0),
                                             ('qfl', 'loss_cls', 4)])
def test_tood_takes_a_loss_on_labels_first_and_a_quality_loss_after(
        tmp_path, cls, key, epoch):
    """Before, TOOD was refused. TOOD scores probabilities: the loss on labels
    replaces initial_loss_cls, the quality loss loss_cls, each activated=True.
    focal and QFL with GIoU are TOOD's own losses, so every loss of the step
    equals the base config's (MMDetection's losses) in the epoch each is used."""
    cfg = run_config(tmp_path, TOOD, cls, 'giou')
    head = cfg.model.bbox_head
    assert head[key].type == CATEGORY_LOSSES[cls]['type']
    assert head[key].activated is True
    other = 'loss_cls' if key == 'initial_loss_cls' else 'initial_loss_cls'
    base = Config.fromfile(resolve_config(TOOD))
    assert head[other] == base.model.bbox_head[other]      # kept
    model, ours = tood_losses(cfg, epoch)
    assert_ours(getattr(model.bbox_head, key),
                CATEGORY_LOSSES[cls]['type'].split('.')[-1])
    assert_ours(model.bbox_head.loss_bbox, 'GIoULoss')
    _, theirs = tood_losses(base, epoch)
    assert ours.keys() == theirs.keys()
    for name in ('loss_cls', 'loss_bbox'):
        total, reference = sum(ours[name]), sum(theirs[name])
        assert torch.isfinite(total) and total > 0, name
        assert float(total) == pytest.approx(float(reference), rel=1e-5), name


@pytest.mark.parametrize('base, cls, message', [
    # GFL's QFL replaced by focal crashed: "'tuple' object has no attribute
    # 'is_floating_point'"
    (GFL, 'focal', r'GFLHead \(model.bbox_head\) trains its classifier on \(labels, '
     r'IoU score\) targets, which only ' + ', '.join(QUALITY) + ' take; got FocalLoss'),
    (GFL, 'ce', 'got CrossEntropyLoss'),
    (ATSS, 'qfl', r'QualityFocalLoss needs IoU-quality targets, which ATSSHead '
     r'\(model.bbox_head\) does not compute'),
    (FASTER_RCNN, 'focal', r'Shared2FCBBoxHead \(model.roi_head.bbox_head\) predicts '
     'C \\+ 1 logits and scores them with a softmax'),

    (TOOD, 'vfl', r'TOODHead \(model.bbox_head\) applies the sigmoid in the head and '
     r'passes probabilities .* which VarifocalLoss does not take; losses that do: '
     r'FocalLoss, QualityFocalLoss'),
    (TOOD, 'ce', 'which CrossEntropyLoss does not take'),
])
def test_what_cannot_work_is_refused_up_front(base, cls, message):
    with pytest.raises(IncompatibleSetting, match=message):
        make_grid([cls], ['giou'], layout=layout_of(base))


DINO = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
DETR = 'mmdet::detr/detr_r50_8xb2-150e_coco.py'


def dino_runs(tmp_path, cls, reg, modes):
    runs = make_grid(cls, reg, layout=layout_of(DINO), match_costs=modes)
    configs = {}
    for run in runs:
        path = tmp_path / f'{run.name}.py'
        path.write_text(run.config_text())
        configs[run.name] = Config.fromfile(str(path))
    return configs


def test_a_detr_grid_puts_each_loss_where_the_head_keeps_it(tmp_path):
    """Before, every set-prediction head was refused ("the grid replaces one location
    loss per head"). A box loss goes to loss_iou, a coordinate loss to loss_bbox, each
    at DINO's own weights (IoU 2, L1 5, focal 1), the other kept; with the IoU cost
    following, the matcher assigns by the loss the run trains, and the config
    doctor then has nothing to say."""
    from mmdet_losses.engine.doctor import check_config
    configs = dino_runs(tmp_path, ['focal', 'bce'], ['ciou', 'smooth-l1'],
                        ['follow', 'keep'])
    assert sorted(configs) == sorted(
        f'{c}_{r}_m{m}' for c in ('focal', 'bce') for r in ('ciou', 'smooth-l1')
        for m in ('follow', 'keep'))
    base = Config.fromfile(resolve_config(DINO)).model
    for name, cfg in configs.items():
        head = cfg.model.bbox_head
        costs = cfg.model.train_cfg.assigner.match_costs
        assert head.loss_cls.type == ('mmdet_losses.FocalLoss' if name.startswith(
            'focal') else 'mmdet_losses.CrossEntropyLoss')
        assert head.loss_cls.loss_weight == base.bbox_head.loss_cls.loss_weight == 1.0
        assert [c.type for c in costs[:2]] == ['FocalLossCost', 'BBoxL1Cost']
        if '_ciou_' in name:
            assert head.loss_iou == dict(type='mmdet_losses.CIoULoss', loss_weight=2.0)
            assert head.loss_bbox == base.bbox_head.loss_bbox   # L1, kept
        else:
            assert head.loss_bbox == dict(type='mmdet_losses.SmoothL1Loss', beta=0.11,
                                          loss_weight=5.0)
            assert head.loss_iou == base.bbox_head.loss_iou     # GIoU, kept
        follows = name.endswith('_mfollow') and '_ciou_' in name
        assert costs[2] == (dict(type='mmdet_losses.BoxLossCost', weight=2.0,
                                 loss=dict(type='mmdet_losses.CIoULoss'))
                            if follows else base.train_cfg.assigner.match_costs[2])
        warned = [f for f in check_config(cfg) if 'matcher' in f.message]
        assert len(warned) == int(name.endswith('_mkeep') and '_ciou_' in name), \
            (name, warned)


def test_detr_keeps_its_no_object_weight_and_takes_quality_losses(tmp_path):
    """Before, a quality loss on a DETR head was refused (MMDetection's heads pass
    integer labels to loss_cls); now the head becomes this package's quality head,
    which computes the IoU of each matched query."""
    deformable = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'
    (run, ) = make_grid(['bce'], ['giou'], layout=layout_of(deformable))
    assert run.overrides['bbox_head']['loss_cls']['loss_weight'] == 2.0  # the base's
    (run, ) = make_grid(['ce'], ['giou'], layout=layout_of(DETR))
    loss_cls = run.overrides['bbox_head']['loss_cls']
    assert (loss_cls['class_weight'], loss_cls['bg_cls_weight']) == (1.0, 0.1)
    assert 'init_cfg' not in run.overrides['bbox_head']
    assert 'mmdet_losses.engine.init' not in run.imports
    for base, head in ((DETR, 'QualityDETRHead'), (deformable,
                                                   'QualityDeformableDETRHead'),
                       (DINO, 'QualityDINOHead')):
        (run, ) = make_grid(['mal'], ['giou'], layout=layout_of(base))
        assert run.overrides['bbox_head']['type'] == f'mmdet_losses.{head}'
        assert run.overrides['bbox_head']['loss_cls']['type'] == \
            'mmdet_losses.MatchabilityAwareLoss'
        assert 'mmdet_losses.models' in run.imports
    conditional = 'mmdet::conditional_detr/conditional-detr_r50_8xb2-50e_coco.py'
    with pytest.raises(IncompatibleSetting, match=r'VarifocalLoss needs IoU-quality '
                       r'targets, which ConditionalDETRHead \(model.bbox_head\) does '
                       r'not compute; heads that do: .*DINOHead'):
        make_grid(['vfl'], ['giou'], layout=layout_of(conditional))
    with pytest.raises(ValueError, match='has no Hungarian matcher'):
        make_grid(['focal'], ['giou'], layout=layout_of(SHAPES_RETINANET),
                  match_costs=['keep'])


@pytest.mark.slow
def test_the_dino_grid_of_the_issue_builds_and_trains_a_step(tmp_path):
    """``tools/ablation.py mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py --cls focal
    vfl mal --reg giou ciou --match-cost follow``: in each of the six configs the
    head, its losses and the matcher agree (the quality losses on the quality DINO
    head, the matcher's IoU cost the run's box loss) and a step trains with every
    loss finite and the class, L1, IoU and denoising losses above 0 (a smaller
    DINO: ResNet-18, one encoder and decoder layer, 30 queries)."""
    configs = dino_runs(tmp_path, ['focal', 'vfl', 'mal'], ['giou', 'ciou'],
                        ['follow'])
    assert sorted(configs) == sorted(f'{c}_{r}' for c in ('focal', 'vfl', 'mal')
                                     for r in ('giou', 'ciou'))
    for name, cfg in configs.items():
        cls, reg = name.split('_')
        cfg.model.backbone.update(depth=18, init_cfg=None)
        cfg.model.neck.in_channels = [c // 4 for c in cfg.model.neck.in_channels]
        for part in ('encoder', 'decoder'):
            cfg.model[part].num_layers = 1
        cfg.model.num_queries = 30
        torch.manual_seed(0)
        model = build(cfg)
        model.init_weights()   # as the runner does (the prior bias of the scores)
        head = model.bbox_head
        assert type(head).__name__ == ('DINOHead' if cls == 'focal' else
                                       'QualityDINOHead'), name
        assert type(head.loss_cls).__name__ == CATEGORY_LOSSES[cls]['type'].split(
            '.')[-1]
        assert type(head.loss_iou).__name__ == f'{reg.upper()[:-3]}IoULoss'
        assert type(head.loss_iou).__module__.startswith('mmdet_losses.')
        assert repr(head.assigner.match_costs[2]) == (
            f"BoxLossCost(loss={{'type': 'mmdet_losses.{reg[:-3].upper()}IoULoss'}}, "
            'weight=2.0)'), name
        losses = train_losses(model)
        for key in ('loss_cls', 'loss_bbox', 'loss_iou', 'enc_loss_cls',
                    'dn_loss_cls', 'dn_loss_iou'):
            assert torch.isfinite(losses[key]) and losses[key] > 0, (name, key)


def test_fcos_coordinate_loss_normalises_by_the_stride(tmp_path):
    # MMDetection's COCO FCOS regresses pixel distances (norm_on_bbox=False): an L1
    # of hundreds (330 against 14 with distances in strides).
    cfg = run_config(tmp_path, COCO_FCOS, 'focal', 'l1')
    assert cfg.model.bbox_head.norm_on_bbox is True
    assert 'reg_decoded_bbox' not in cfg.model.bbox_head
    iou_cfg = run_config(tmp_path, COCO_FCOS, 'focal', 'giou')
    assert 'norm_on_bbox' not in iou_cfg.model.bbox_head  # the base's: False
    assert iou_cfg.model.bbox_head.loss_bbox.loss_weight == 1.0
    model = build(cfg)
    calls = capture(model.bbox_head.loss_bbox)
    train_losses(model)
    assert calls
    target = calls[0][1]
    sides = torch.cat([target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]])
    # 42-70 px objects on strides 8 and 16: at most 70 / 8 strides (pixels: >= 42)
    assert 0 < sides.min() and sides.max() <= 70 / 8 + 1e-4, sides


def test_retinanet_decoded_boxes_for_the_iou_family(tmp_path):
    cfg = run_config(tmp_path, SHAPES_RETINANET, 'focal', 'giou')
    assert cfg.model.bbox_head.reg_decoded_bbox is True
    model = build(cfg)
    calls = capture(model.bbox_head.loss_bbox)
    train_losses(model)
    assert_targets_are_gt_boxes(calls)


def test_mmdet_names_are_kept_in_the_run_config(tmp_path):
    (run,) = make_grid(['focal'], ['giou'], layout=inspect_detector(ATSS))
    assert run.config_text().startswith(f"_base_ = ['{ATSS}']")
    with pytest.raises(FileNotFoundError, match="config 'nowhere.py' not found"):
        inspect_detector('nowhere.py')


# ------------------------------------------------ one source for the loss settings

# configs/_base_/losses/<file>.py spelling a grid entry under another name (the
# presets' files, mmdet_losses.spec.Preset.file)
FILE_ALIASES = {preset.file: preset.name for spec in SPECS.values()
                for preset in spec.presets if preset.file}


def _loss_files():
    for path in sorted(glob.glob(osp.join(REPO, 'configs/_base_/losses/*.py'))):
        stem = osp.splitext(osp.basename(path))[0]
        cfg = Config.fromfile(path)
        (loss,) = [dict(v) for k, v in cfg.items() if k.endswith('_loss')]
        yield FILE_ALIASES.get(stem, stem), loss


def test_loss_base_configs_agree_with_the_grid_table():
    """Type and hyper-parameters; the weights are the detector's (below)."""
    table = {**CATEGORY_LOSSES, **LOCATION_LOSSES}
    for name, loss in _loss_files():
        if name not in table:
            continue
        expected = {k: v for k, v in table[name].items() if k != 'loss_weight'}
        loss = {k: tuple(v) if isinstance(v, list) else v for k, v in loss.items()}
        assert loss == expected, name


def _variants(folder, prefix, suffix):
    for path in sorted(glob.glob(osp.join(REPO, 'configs', folder,
                                          f'{prefix}_*{suffix}'))):
        name = osp.basename(path)[len(prefix) + 1:-len(suffix)]
        if name in LOCATION_LOSSES or name in CATEGORY_LOSSES or name in FILE_ALIASES:
            yield path, name


def _written_head(base, cls, reg):
    """The ``bbox_head`` part the grid writes for ``cls`` x ``reg`` on ``base``."""
    (run,) = make_grid([cls], [reg], layout=layout_of(base))
    head = run.overrides['bbox_head']
    return {k: ({n: x for n, x in v.items() if n != '_delete_'}
                if isinstance(v, dict) else v) for k, v in head.items()}


@pytest.mark.parametrize('folder, prefix, suffix, base', [
    ('retinanet', 'retinanet_r50_fpn', '_1x_coco.py', COCO_RETINANET),
    ('fcos', 'fcos_r50-caffe_fpn_gn-head', '_1x_coco.py', COCO_FCOS),
], ids=['retinanet', 'fcos'])
def test_detector_variants_are_what_the_grid_writes(folder, prefix, suffix, base):
    """configs/<detector>/<detector>_<loss>_... carries the loss, weight and head
    options the grid writes for that loss on the detector's base config."""
    base_head = Config.fromfile(base).model.bbox_head
    base_cls = next(n for n, v in CATEGORY_LOSSES.items()
                    if v['type'] == base_head.loss_cls.type
                    and v.get('use_sigmoid') == base_head.loss_cls.use_sigmoid)
    base_reg = next(n for n, v in LOCATION_LOSSES.items()
                    if v['type'] == base_head.loss_bbox.type)
    checked = 0
    for path, name in _variants(folder, prefix, suffix):
        variant = Config.fromfile(path).model.bbox_head
        name = FILE_ALIASES.get(name, name)
        if name in CATEGORY_LOSSES:
            written = _written_head(base, name, base_reg)
            assert dict(variant.loss_cls) == written['loss_cls'], path
        else:
            written = _written_head(base, base_cls, name)
            assert dict(variant.loss_bbox) == written['loss_bbox'], path
            for option in ('reg_decoded_bbox', 'norm_on_bbox'):
                # both default to False in MMDetection's heads
                default = base_head.get(option, False)
                assert variant.get(option, default) == written.get(option, default), \
                    (path, option)
        checked += 1
    assert checked >= 10


def test_quality_losses_swap_in_the_quality_heads(tmp_path):
    cfg = run_config(tmp_path, SHAPES_RETINANET, 'qfl', 'giou')
    assert cfg.model.bbox_head.type == 'mmdet_losses.QualityRetinaHead'
    assert 'mmdet_losses.models' in cfg.custom_imports.imports
    fcos = run_config(tmp_path, COCO_FCOS, 'vfl', 'giou').model.bbox_head
    assert fcos.type == 'mmdet_losses.QualityFCOSHead'
    assert fcos.loss_centerness is None and fcos.centerness_on_reg is False
    plain = run_config(tmp_path, SHAPES_RETINANET, 'focal', 'giou')
    assert plain.model.bbox_head.type == 'RetinaHead'
    assert plain.custom_imports.imports == ['mmdet_losses']


@pytest.mark.parametrize('base, message', [
    ('mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py',
     r'YOLOV3Head \(model.bbox_head\): the grid does not rewire YOLOV3Head, because '
     'it has no loss_bbox'),
])
def test_heads_the_grid_cannot_rewire_are_named(base, message):
    with pytest.raises(IncompatibleSetting, match=message):
        inspect_detector(base)
