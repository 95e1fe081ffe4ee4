"""Every config loads, builds its model and is wired right for its losses; the COCO
configs also run one forward/backward pass on a tiny random batch.

"Wired right": the losses are this package's, the head's output channels follow
``use_sigmoid`` (C or C + 1), RetinaNet decodes boxes exactly when its location loss
compares boxes, FCOS normalises distances by the stride for coordinate losses, and
every weight is the one configs/README.md states.
"""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmdet_losses.spec import BOXES, CATEGORY_KINDS, IOU_QUALITY, REGRESSION_TARGETS
from mmdet_losses_lab.training.config import set_data_root
from spec_helpers import loss_names

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
    if '_base_' not in path.split(osp.sep))
COCO_CONFIGS = [path for path in CONFIGS if path.endswith('_coco.py')]
# The losses by what they compare and the targets they take (their specs).
IOU_FAMILY = set(loss_names(compares=BOXES))
COORDINATE = set(loss_names(compares=REGRESSION_TARGETS))
CATEGORY = set(loss_names(*CATEGORY_KINDS))
# Category losses on IoU-quality targets, and the heads that compute them: ours
# (mmdet_losses.models, extending RetinaHead and FCOSHead) and MMDetection's own.
QUALITY = set(loss_names(targets=IOU_QUALITY))
QUALITY_HEADS = {'mmdet_losses.QualityRetinaHead': 'RetinaHead',
                 'mmdet_losses.QualityFCOSHead': 'FCOSHead'}
# Their other losses: DFL (GFL), GIoU on the refined boxes (VFNet).
EXTRA_LOSSES = {'GFLHead': 'loss_dfl', 'VFNetHead': 'loss_bbox_refine'}


def config_id(path):
    return osp.relpath(path, CONFIG_DIR)


def readme_weights():
    """``{config file name: (cls weight, bbox weight)}`` from configs/README.md."""
    with open(osp.join(CONFIG_DIR, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    rows = re.findall(r'^\| `([\w.-]+\.py)` \|(?:[^|]*\|){2} ([\d.]+) / ([\d.]+) \|',
                      text, flags=re.M)
    return {name: (float(cls), float(bbox)) for name, cls, bbox in rows}


def load(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no download
    return cfg


def build_model(cfg):
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    return MODELS.build(cfg.model)


def loss_name(loss_cfg):
    scope, _, name = loss_cfg['type'].rpartition('.')
    assert scope == 'mmdet_losses', f'{loss_cfg["type"]} is not a loss of this package'
    return name


def cls_conv(head):
    """The last classification conv: ``retina_cls`` (RetinaNet), ``gfl_cls``,
    ``vfnet_cls``, ``conv_cls`` (FCOS)."""
    return next(getattr(head, name) for name in
                ('retina_cls', 'gfl_cls', 'vfnet_cls', 'conv_cls') if hasattr(head, name))


def reg_conv(head):
    return next(getattr(head, name) for name in
                ('retina_reg', 'gfl_reg', 'vfnet_reg', 'conv_reg') if hasattr(head, name))


def test_there_is_a_grid():
    names = [osp.basename(p) for p in CONFIGS]
    # Both detectors, each with 3 category and >= 12 location variants.
    assert sum(n.startswith('retinanet_r50') for n in names) >= 16
    assert sum(n.startswith('fcos_r50') for n in names) >= 16
    assert any('shapes' in n and n.startswith('retinanet') for n in names)
    assert any('shapes' in n and n.startswith('fcos') for n in names)


def test_readme_lists_every_config():
    weights = readme_weights()
    missing = [osp.basename(p) for p in CONFIGS if osp.basename(p) not in weights]
    assert not missing, f'configs/README.md has no row for {missing}'
    stale = set(weights) - {osp.basename(p) for p in CONFIGS}
    assert not stale, f'configs/README.md lists configs that do not exist: {stale}'


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_builds_and_is_wired_for_its_losses(path):
    # One build per config (R-50 builds dominate this file's time): the wiring checks,
    # then, for the COCO configs, a training step.
    cfg = load(path)
    assert 'mmdet_losses' in cfg.custom_imports.imports
    assert cfg.custom_imports.allow_failed_imports is False
    head_cfg = cfg.model.bbox_head
    # mmdet's heads read use_sigmoid from the dict: it must be stated.
    assert 'use_sigmoid' in head_cfg.loss_cls
    cls_name, bbox_name = loss_name(head_cfg.loss_cls), loss_name(head_cfg.loss_bbox)
    assert cls_name in CATEGORY
    head_type = QUALITY_HEADS.get(head_cfg.type, head_cfg.type)
    # An IoU-quality loss needs a head that computes the IoU targets, and only it.
    assert (cls_name in QUALITY) == (head_cfg.type in QUALITY_HEADS
                                     or head_type in EXTRA_LOSSES), path
    assert bbox_name in IOU_FAMILY | COORDINATE
    if 'loss_iou' in head_cfg:   # a DETR: L1 on cx, cy, w, h in loss_bbox
        assert bbox_name in COORDINATE and loss_name(head_cfg.loss_iou) in IOU_FAMILY

    model = build_model(cfg)
    head = model.bbox_head
    assert type(head.loss_cls).__module__.startswith('mmdet_losses.')
    assert type(head.loss_bbox).__module__.startswith('mmdet_losses.')
    num_classes = head_cfg.num_classes
    if head_cfg.loss_cls.use_sigmoid:
        assert head.cls_out_channels == num_classes
    else:
        assert head.cls_out_channels == num_classes + 1  # background last
        assert head_cfg.init_cfg[-1].type == 'mmdet_losses.SoftmaxPriorInit'
    if head_type == 'DINOHead':
        from mmdet_losses.engine.doctor import check_config
        assert type(head.loss_iou).__module__.startswith('mmdet_losses.')
        # every decoder layer's classifier and the encoder's
        assert {branch[-1].out_features if hasattr(branch, '__getitem__') else
                branch.out_features for branch in head.cls_branches} == \
            {head.cls_out_channels}
        assert not check_config(cfg), 'the matcher measures what the losses train'
    else:
        priors = head.prior_generator.num_base_priors[0]
        assert cls_conv(head).out_channels == head.cls_out_channels * priors

    if head_type == 'RetinaHead':
        assert head.reg_decoded_bbox == (bbox_name in IOU_FAMILY)
    elif head_type == 'FCOSHead':
        if bbox_name in COORDINATE:
            assert head.norm_on_bbox, 'coordinate losses need stride-normalised targets'
        # The quality-aware FCOS has no centre-ness branch (configs/README.md).
        assert hasattr(head, 'conv_centerness') == (head_cfg.type == 'FCOSHead')
    elif head_type in EXTRA_LOSSES:  # GFL and VFNet decode their boxes themselves
        extra = getattr(head, EXTRA_LOSSES[head_type])
        assert type(extra).__module__.startswith('mmdet_losses.'), head_type
    elif head_type != 'DINOHead':   # checked above
        pytest.fail(f'no wiring rule for {head_cfg.type}')

    expected = readme_weights()[osp.basename(path)]
    assert (head.loss_cls.loss_weight, head.loss_bbox.loss_weight) == expected

    if path in COCO_CONFIGS:
        check_training_step(model)


def test_variants_differ_from_their_base_in_one_loss_only():
    for detector, base, giou in (
            ('retinanet', 'retinanet_r50_fpn_1x_coco.py',
             'retinanet_r50_fpn_giou_1x_coco.py'),
            ('fcos', 'fcos_r50-caffe_fpn_gn-head_1x_coco.py',
             'fcos_r50-caffe_fpn_gn-head_giou_1x_coco.py')):
        for path in glob.glob(osp.join(CONFIG_DIR, detector, '*.py')):
            cfg = load(path)
            # A quality-aware variant is the GIoU variant with its head and category
            # loss swapped (no centre-ness loss on FCOS).
            quality = cfg.model.bbox_head.type in QUALITY_HEADS
            base_cfg = load(osp.join(CONFIG_DIR, detector, giou if quality else base))
            head, base_head = cfg.model.bbox_head, base_cfg.model.bbox_head
            changed = {k for k in set(head) | set(base_head)
                       if head.get(k) != base_head.get(k)}
            allowed = {'type', 'loss_cls', 'loss_centerness'} if quality else {
                'loss_cls', 'loss_bbox', 'reg_decoded_bbox', 'norm_on_bbox', 'init_cfg'}
            assert changed <= allowed, (path, changed)
            assert not {'loss_cls', 'loss_bbox'} <= changed, path
            assert cfg.model.backbone == base_cfg.model.backbone
            assert cfg.optim_wrapper == base_cfg.optim_wrapper
            assert cfg.train_cfg == base_cfg.train_cfg


def without_scope(node):
    """A plain copy of a config node without the ``_scope_`` keys inheritance adds."""
    if isinstance(node, dict):
        return {k: without_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(without_scope(v) for v in node)
    return node


def test_coco_configs_inherit_mmdetection():
    # Only the two losses differ from MMDetection's zoo configs.
    for zoo in ('retinanet/retinanet_r50_fpn_1x_coco.py',
                'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'):
        ours = Config.fromfile(osp.join(CONFIG_DIR, zoo))
        theirs = get_config(f'mmdet::{zoo}')
        for key in ('train_dataloader', 'val_evaluator', 'param_scheduler',
                    'optim_wrapper', 'train_cfg'):
            assert without_scope(ours[key]) == without_scope(theirs[key]), key
        ours_model = without_scope(ours.model)
        theirs_model = without_scope(theirs.model)
        for part in ('backbone', 'neck', 'data_preprocessor'):
            assert ours_model[part] == theirs_model[part]
        for head in (ours_model['bbox_head'], theirs_model['bbox_head']):
            del head['loss_cls'], head['loss_bbox']
        assert ours_model['bbox_head'] == theirs_model['bbox_head']


def check_training_step(model):
    """One forward/backward pass on a tiny random COCO-like batch: finite, positive
    losses and gradients that reach both output convs of the head."""
    from mmdet.testing import demo_mm_inputs

    torch.manual_seed(0)
    model.train()  # PyTorch's default init: no download, no init log
    # Two 64 px images with 3 boxes each: the smallest input that still gives every
    # FPN level (strides up to 128) a cell.
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 64, 64)] * 2,
                            num_items=[3, 3], num_classes=80)
    data = model.data_preprocessor(packed, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, log_vars = model.parse_losses(losses)
    assert {'loss_cls', 'loss_bbox'} <= set(log_vars)
    for key, value in log_vars.items():
        assert value == value and abs(value) != float('inf'), (key, value)
    assert log_vars['loss_cls'] > 0 and log_vars['loss_bbox'] > 0
    total.backward()
    head = model.bbox_head
    for name, conv in (('classification', cls_conv(head)),
                       ('regression', reg_conv(head))):
        grad = conv.weight.grad
        assert grad is not None and torch.isfinite(grad).all(), name
        assert grad.abs().sum() > 0, f'no {name} gradient'


@pytest.mark.parametrize('name', [
    'retinanet/retinanet_r50_fpn_softmax-focal_1x_coco.py',
    'fcos/fcos_r50-caffe_fpn_gn-head_softmax-ce_1x_coco.py'])
def test_softmax_heads_start_at_the_background_prior(name):
    cfg = load(osp.join(CONFIG_DIR, name))
    model = build_model(cfg)
    model.bbox_head.init_weights()
    head = model.bbox_head
    logits = cls_conv(head).bias.detach().view(-1, head.cls_out_channels)
    probs = logits.softmax(-1)
    # 0.99 background and 0.01 / 80 per class, for every anchor.
    torch.testing.assert_close(probs[:, -1], torch.full_like(probs[:, -1], 0.99))
    torch.testing.assert_close(probs[:, :-1], torch.full_like(probs[:, :-1], 0.01 / 80))
    assert 0.005 < cls_conv(head).weight.std() < 0.02


def test_softmax_prior_init_refuses_sigmoid_heads():
    from mmdet_losses.engine.init import SoftmaxPriorInit

    cfg = load(osp.join(CONFIG_DIR, 'retinanet', 'retinanet_r50_fpn_1x_coco.py'))
    head = build_model(cfg).bbox_head
    with pytest.raises(ValueError, match='for softmax heads'):
        SoftmaxPriorInit()(head)
    with pytest.raises(ValueError, match=r'prior_prob must be in \(0, 1\), got 1.5'):
        SoftmaxPriorInit(prior_prob=1.5)


def test_set_data_root_moves_datasets_and_evaluators(tmp_path):
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'shapes', 'retinanet_r18_fpn_1xb4-1500i_shapes.py'))
    set_data_root(cfg, str(tmp_path))
    root = osp.join(str(tmp_path), '')
    assert cfg.train_dataloader.dataset.data_root == root
    assert cfg.val_dataloader.dataset.data_root == root
    assert cfg.test_dataloader.dataset.data_root == root
    assert cfg.val_evaluator.ann_file == root + 'annotations/instances_val.json'
    assert cfg.test_evaluator.ann_file == root + 'annotations/instances_val.json'
