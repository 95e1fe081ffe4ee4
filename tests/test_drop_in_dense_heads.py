"""Every dense head of MMDetection 3.3, built from MMDetection's own config with this
package's losses in place of its own (``tests/mmdet_drop_in.py``), takes a loss step
on an image with and without ground truth as MMDetection's unit tests of its dense
heads do: the classification losses above 0 both times, the box losses 0 without
ground truth and above 0 with it, every value and gradient finite, the built losses
really this package's classes; and every loss equals MMDetection's own on the same
head and features."""
from functools import partial
from typing import NamedTuple, Tuple

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.logging import MessageHub

from mmdet_drop_in import (assert_as_mmdet, assert_built_ours,  # noqa: F401
                           check_loss_step, data_sample, feature_maps, model_config,
                           one_thread, swap_losses)

CHANNELS = 32  # every head's input and feature channels (GroupNorm's 32 groups)


class Head(NamedTuple):
    config: str                       # MMDetection's config of the detector
    zero_without_gt: Tuple[str, ...]  # the losses that are 0 without ground truth
    head: str = 'bbox_head'           # 'rpn_head' for the RPNs


BOX = ('loss_bbox', )
HEADS = {
    'retinanet': Head('retinanet/retinanet_r50_fpn_1x_coco.py', BOX),
    'fcos': Head('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
                 ('loss_bbox', 'loss_centerness')),
    'atss': Head('atss/atss_r50_fpn_1x_coco.py', ('loss_bbox', 'loss_centerness')),
    'gfl': Head('gfl/gfl_r50_fpn_1x_coco.py', ('loss_bbox', 'loss_dfl')),
    'vfnet': Head('vfnet/vfnet_r50_fpn_1x_coco.py', ('loss_bbox', )),
    'tood': Head('tood/tood_r50_fpn_1x_coco.py', BOX),
    'paa': Head('paa/paa_r50_fpn_1x_coco.py', ('loss_bbox', 'loss_iou')),
    'fsaf': Head('fsaf/fsaf_r50_fpn_1x_coco.py', BOX),
    'ga_retinanet': Head('guided_anchoring/ga-retinanet_r50_fpn_1x_coco.py',
                         ('loss_bbox', 'loss_shape')),
    'sabl': Head('sabl/sabl-retinanet_r50_fpn_1x_coco.py',
                 ('loss_bbox_cls', 'loss_bbox_reg')),
    'autoassign': Head('autoassign/autoassign_r50-caffe_fpn_1x_coco.py',
                       ('loss_pos', 'loss_center')),
    'centernet': Head('centernet/centernet_r18_8xb16-crop512-140e_coco.py',
                      ('loss_wh', 'loss_offset')),
    'ddod': Head('ddod/ddod_r50_fpn_1x_coco.py', ('loss_bbox', 'loss_iou')),
    # YOLOX scores classes on its positives only: no ground truth, no class loss
    'yolox': Head('yolox/yolox_tiny_8xb8-300e_coco.py', ('loss_cls', 'loss_bbox')),
    'yolof': Head('yolof/yolof_r50-c5_8xb8-1x_coco.py', BOX),
    'foveabox': Head('foveabox/fovea_r50_fpn_4xb4-1x_coco.py', BOX),
    'reppoints': Head('reppoints/reppoints-moment_r50_fpn-gn_head-gn_1x_coco.py',
                      ('loss_pts_init', 'loss_pts_refine')),
    'nas_fcos': Head('nas_fcos/nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_coco.py',
                     ('loss_bbox', 'loss_centerness')),
    'ld': Head('ld/ld_r18-gflv1-r101_fpn_1x_coco.py',
               ('loss_bbox', 'loss_dfl', 'loss_ld')),
    'rpn': Head('rpn/rpn_r50_fpn_1x_coco.py', ('loss_rpn_bbox', ), 'rpn_head'),
    'cascade_rpn': Head('cascade_rpn/cascade-rpn_r50-caffe_fpn_1x_coco.py',
                        ('loss_rpn_reg', ), 'rpn_head'),
}


def shrink(head_config) -> None:
    """Input and feature channels down to :data:`CHANNELS`, every stage's too."""
    for key in ('in_channels', 'feat_channels', 'point_feat_channels'):
        if key in head_config:
            head_config[key] = CHANNELS
    for stage in head_config.get('stages', []):
        shrink(stage)
        # MMDetection 3.3's StageCascadeRPNHead no longer takes `sampling`, which
        # its Cascade RPN config still passes (its own test leaves it out).
        stage.pop('sampling', None)


def build_head(name: str, ours: bool):
    """The head of ``name`` with its train and test configs, as its detector builds
    it (an RPN's from the detector's ``rpn`` entries, one class), and the names
    of the losses swapped for ours."""
    case = HEADS[name]
    model = model_config(case.config)
    swapped = swap_losses(model) if ours else []
    head = model[case.head]
    train_cfg, test_cfg = model.get('train_cfg'), model.get('test_cfg')
    if case.head == 'rpn_head':
        train_cfg, test_cfg = train_cfg.rpn, test_cfg.rpn
        head.setdefault('num_classes', 1)
    head.update(train_cfg=train_cfg, test_cfg=test_cfg)
    shrink(head)
    torch.manual_seed(0)
    built = MMDET_MODELS.build(head)
    built.init_weights()
    return built, swapped, model


def strides(head) -> list:
    """The strides of the head's feature maps (CenterNet: one map, stride 4)."""
    if hasattr(head, 'stages'):
        head = head.stages[0]
    generator = getattr(head, 'approx_anchor_generator', None) or \
        getattr(head, 'prior_generator', None)
    if generator is None:
        return [4]
    return [s[0] if isinstance(s, (tuple, list)) else s for s in generator.strides]


def teacher_outputs(model, feats):
    """LD's soft targets: the outputs of its teacher's (GFL) head on the same
    features, as KnowledgeDistillationSingleStageDetector passes them."""
    teacher = model_config(model.teacher_config.replace('configs/', ''))
    head = teacher.bbox_head
    shrink(head)
    head.update(train_cfg=teacher.train_cfg, test_cfg=teacher.test_cfg)
    torch.manual_seed(1)
    with torch.no_grad():
        return MMDET_MODELS.build(head)(feats)


def loss_step(name: str, ours: bool):
    """The head's loss dicts (as floats) without and with ground truth."""
    head, swapped, model = build_head(name, ours)
    if ours:
        assert_built_ours(head, swapped)
    feats = feature_maps(strides(head), CHANNELS)
    results = []
    for with_gt in (False, True):
        samples = [data_sample(with_gt, class_agnostic=HEADS[name].head == 'rpn_head')]
        torch.manual_seed(2)
        if name == 'ld':
            losses = head.loss(feats, teacher_outputs(model, feats), samples)
        else:
            losses = head.loss(feats, samples)
        results.append(check_loss_step(losses, with_gt, HEADS[name].zero_without_gt,
                                       head))
    return results


@pytest.mark.parametrize('name', [n for n in HEADS if n != 'tood'])
def test_dense_head_loss_step(name):
    if name == 'paa':
        pytest.importorskip('sklearn', reason="PAA's GMM needs scikit-learn, with "
                            "MMDetection's losses too")
    assert_as_mmdet(partial(loss_step, name))


@pytest.fixture
def message_hub():
    hub = MessageHub.get_current_instance()
    yield hub
    hub.runtime_info.pop('epoch', None)


@pytest.mark.parametrize('epoch', [0, 4], ids=['initial_focal', 'task_aligned_qfl'])
def test_tood_head_loss_step(epoch, message_hub):
    """TOOD trains its first epochs (initial_epoch = 4) with initial_loss_cls
    (activated focal loss, ATSS assignment), then with loss_cls (activated QFL,
    task-aligned assignment); the epoch comes from MMEngine's message hub."""
    message_hub.update_info('epoch', epoch)
    assert_as_mmdet(partial(loss_step, 'tood'))
