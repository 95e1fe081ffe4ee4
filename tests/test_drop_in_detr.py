"""The DETR family of MMDetection 3.3 (DETR, Deformable DETR, Conditional DETR,
DAB-DETR, DINO), built from MMDetection's own configs with this package's losses in
place of its own (``tests/mmdet_drop_in.py``), takes a loss step on an image with
and without ground truth as MMDetection's unit tests of these detectors do: the
classification losses (of every decoder layer) above 0 both times, the box, IoU and
denoising losses 0 without ground truth and above 0 with it, every value and
gradient finite, the built losses really this package's classes; and every loss
equals MMDetection's own on the same model and image. The backbone is a ResNet-18
instead of a ResNet-50 (the necks' input channels follow), with two encoder and
decoder layers instead of six and at most 100 queries: the losses see the same
heads."""
from functools import partial

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

from mmdet_drop_in import (IMAGE_SIZE, assert_as_mmdet,  # noqa: F401
                           assert_built_ours, check_loss_step, data_sample,
                           model_config, one_thread, swap_losses)

# Detector-sized models, a few seconds each with MMDetection's run beside ours.
pytestmark = pytest.mark.slow

DETECTORS = {
    'detr': 'detr/detr_r50_8xb2-150e_coco.py',
    'deformable_detr': 'deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
    'conditional_detr': 'conditional_detr/conditional-detr_r50_8xb2-50e_coco.py',
    'dab_detr': 'dab_detr/dab-detr_r50_8xb2-50e_coco.py',
    'dino': 'dino/dino-4scale_r50_8xb2-12e_coco.py',
}
# A ResNet-50 stage's output channels -> a ResNet-18's.
RESNET18_CHANNELS = {256: 64, 512: 128, 1024: 256, 2048: 512}
LAYERS = 2
QUERIES = 100   # DINO's 900 and Deformable DETR's 300 cut to DETR's 100
ZERO_WITHOUT_GT = ('loss_bbox', 'loss_iou', 'dn_')


def build(name: str, ours: bool):
    model = model_config(DETECTORS[name])
    model.pop('data_preprocessor')   # the step takes a normalised image
    swapped = swap_losses(model) if ours else []
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.in_channels = [RESNET18_CHANNELS[c] for c in model.neck.in_channels]
    for part in ('encoder', 'decoder'):
        model[part].num_layers = LAYERS
    model.num_queries = min(model.num_queries, QUERIES)
    torch.manual_seed(0)
    detector = MMDET_MODELS.build(model)
    detector.init_weights()
    return detector, swapped


def loss_step(name: str, ours: bool):
    detector, swapped = build(name, ours)
    if ours:
        assert_built_ours(detector, swapped)
    image = torch.rand(1, 3, IMAGE_SIZE, IMAGE_SIZE,
                       generator=torch.Generator().manual_seed(1))
    results = []
    for with_gt in (False, True):
        torch.manual_seed(2)
        losses = detector.loss(image, [data_sample(with_gt)])
        results.append(check_loss_step(losses, with_gt, ZERO_WITHOUT_GT, detector))
    return results


@pytest.mark.parametrize('name', list(DETECTORS))
def test_detr_family_loss_step(name):
    assert_as_mmdet(partial(loss_step, name))
