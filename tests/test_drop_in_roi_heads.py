"""MMDetection 3.3's RoI heads (box, mask, cascade, HTC, PointRend, dynamic, sparse),
built from MMDetection's own configs with this package's losses in place of its own
(``tests/mmdet_drop_in.py``), take a loss step on features and proposals with and
without ground truth as MMDetection's unit tests of its RoI heads do: the
classification loss above 0 both times, the box and mask losses 0 without ground
truth and above 0 with it, every value and gradient finite, the built losses really
this package's classes; every loss equals MMDetection's own on the same head and
inputs. Dynamic R-CNN's own check on its box loss is pinned."""
from functools import partial
from typing import NamedTuple, Tuple

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.structures import InstanceData

from mmdet_drop_in import (IMAGE_SIZE, assert_as_mmdet,  # noqa: F401
                           assert_built_ours, check_loss_step, data_sample,
                           feature_maps, model_config, one_thread, swap_losses)

# Detector-sized models, a few seconds each with MMDetection's run beside ours.
pytestmark = pytest.mark.slow

CHANNELS = 256      # the FPN's output channels that the RoI heads' configs expect
NUM_PROPOSALS = 64
BOX_AND_MASK = ('loss_bbox', 'loss_iou', 'loss_mask', 'loss_point')


class RoIHead(NamedTuple):
    config: str
    keep: Tuple[str, ...] = ()   # config keys left as MMDetection's
    masks: bool = True
    # PointRend's point features need a positive RoI: MMDetection's own losses
    # cannot take a step without ground truth there either.
    without_gt: bool = True


ROI_HEADS = {
    'faster_rcnn': RoIHead('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', masks=False),
    'mask_rcnn': RoIHead('mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'),
    'cascade_mask_rcnn': RoIHead('cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'),
    'htc': RoIHead('htc/htc-without-semantic_r50_fpn_1x_coco.py'),
    'point_rend': RoIHead('point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py',
                          without_gt=False),
    # DynamicRoIHead asserts that its box loss is MMDetection's SmoothL1Loss (it
    # sets that loss's beta while training): the box loss stays MMDetection's.
    'dynamic_rcnn': RoIHead('dynamic_rcnn/dynamic-rcnn_r50_fpn_1x_coco.py',
                            keep=('loss_bbox', ), masks=False),
    'sparse_rcnn': RoIHead('sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py', masks=False),
}


def build(name: str, ours: bool, keep: Tuple[str, ...] = None):
    """The RoI head of ``name`` with its ``rcnn`` train and test configs, as its
    detector builds it; Sparse R-CNN's learnt proposals (its EmbeddingRPNHead)."""
    case = ROI_HEADS[name]
    model = model_config(case.config)
    proposals = None
    if model.rpn_head.type == 'EmbeddingRPNHead':
        proposals = MMDET_MODELS.build(model.rpn_head)
        proposals.init_weights()   # boxes spanning the image
    swapped = swap_losses(model.roi_head,
                          case.keep if keep is None else keep) if ours else []
    roi_head = model.roi_head
    roi_head.update(train_cfg=model.train_cfg.rcnn, test_cfg=model.test_cfg.rcnn)
    extractor = roi_head.bbox_roi_extractor
    strides = (extractor[0] if isinstance(extractor, list) else extractor).featmap_strides
    torch.manual_seed(0)
    built = MMDET_MODELS.build(roi_head)
    built.init_weights()
    return built, swapped, proposals, strides


def proposal_list(feats, samples, embedding_rpn):
    """Proposals: Sparse R-CNN's learnt ones, else random boxes in the image, as
    MMDetection's RoI head tests make them (the samplers add the ground truth)."""
    if embedding_rpn is not None:
        return embedding_rpn.predict(feats, samples)
    gen = torch.Generator().manual_seed(3)
    corners = torch.rand(NUM_PROPOSALS, 2, generator=gen) * IMAGE_SIZE * 0.7
    sizes = 16 + torch.rand(NUM_PROPOSALS, 2, generator=gen) * IMAGE_SIZE * 0.3
    return [InstanceData(bboxes=torch.cat([corners, corners + sizes], 1),
                         scores=torch.rand(NUM_PROPOSALS, generator=gen),
                         labels=torch.zeros(NUM_PROPOSALS, dtype=torch.long))]


def loss_step(name: str, ours: bool):
    head, swapped, embedding_rpn, strides = build(name, ours)
    if ours:
        assert_built_ours(head, swapped)
    feats = feature_maps(strides, CHANNELS)
    results = []
    for with_gt in (False, True)[not ROI_HEADS[name].without_gt:]:
        samples = [data_sample(with_gt, masks=ROI_HEADS[name].masks)]
        torch.manual_seed(2)
        losses = head.loss(feats, proposal_list(feats, samples, embedding_rpn),
                           samples)
        results.append(check_loss_step(losses, with_gt, BOX_AND_MASK, head))
    return results


@pytest.mark.parametrize('name', list(ROI_HEADS))
def test_roi_head_loss_step(name):
    assert_as_mmdet(partial(loss_step, name))


def test_dynamic_roi_head_refuses_our_smooth_l1():
    """DynamicRoIHead checks isinstance(loss_bbox, mmdet's SmoothL1Loss): with ours
    it cannot be built (docs/losses/mmdet_contract.md says what to do)."""
    with pytest.raises(AssertionError):
        build('dynamic_rcnn', ours=True, keep=())
