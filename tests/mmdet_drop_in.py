"""MMDetection 3.3's own model configs with this package's losses in place of
MMDetection's, as a user swaps them: every loss config whose type names a loss of
this package (``type='X'``) becomes ``type='mmdet_losses.X'`` with the same
arguments. Also the inputs of one loss step and the checks that MMDetection's unit
tests make of a loss dict (``tests/test_drop_in_*.py``)."""
import copy
import math
import os
from collections import Counter
from typing import Callable, Dict, Iterable, List

import mmdet
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdet_losses import MODELS
from mmdet_losses.losses import BaseLoss

CONFIG_DIR = os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs')
# The losses of this package's registry: the names a config can swap.
OUR_LOSSES = frozenset(name for name in MODELS.own_names()
                       if issubclass(MODELS.get(name), BaseLoss))

IMAGE_SIZE = 256
# MMDetection's tests' box (label 2) and a second, smaller one (label 0).
GT_BOXES = [[23.6667, 23.8757, 238.6326, 151.8874], [80.0, 100.0, 180.0, 220.0]]
GT_LABELS = [2, 0]


@pytest.fixture(autouse=True)
def one_thread():
    """The heads' tensors are tiny: OpenMP's worker threads cost more than they
    give, and far more beside a busy core (FCOS's loss step: 8.3 s with two
    threads next to a training run, 0.09 s with one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model_config(path: str) -> Config:
    """A copy of the ``model`` of MMDetection's config ``path`` (relative to its
    configs folder)."""
    return copy.deepcopy(Config.fromfile(os.path.join(CONFIG_DIR, path)).model)


def swap_losses(config, keep: Iterable[str] = (), _key: str = '') -> List[str]:
    """Swap, in place, every loss config (a dict under a key that names a loss,
    ``loss_cls``, ``initial_loss_cls``, ...) whose type is one of ours, except under
    the keys in ``keep``. Returns the swapped names, one per config."""
    swapped = []
    if isinstance(config, dict):
        if 'loss' in _key and config.get('type') in OUR_LOSSES:
            swapped.append(config['type'])
            config['type'] = f"mmdet_losses.{config['type']}"
        for key, value in config.items():
            if key not in keep:
                swapped += swap_losses(value, keep, key)
    elif isinstance(config, (list, tuple)):
        for value in config:
            swapped += swap_losses(value, keep, _key)
    return swapped


def assert_built_ours(model: torch.nn.Module, swapped: List[str]) -> None:
    """Every swapped config was built as this package's class: at least one of ours
    per config (a cascade builds one mask head config per stage), and nothing of
    ours that no config named. (A loss that a head builds from its own defaults,
    not named by the config, stays MMDetection's, as it would for a user: Cascade
    RPN's first stage builds a classification loss it never calls.)"""
    assert swapped, 'no loss of this package in the config'
    ours = Counter(type(m).__name__ for m in model.modules() if isinstance(m, BaseLoss))
    named = Counter(swapped)
    assert set(ours) == set(named) and all(ours[n] >= named[n] for n in named), \
        (ours, swapped)


def feature_maps(strides: List[int], channels: int, size: int = IMAGE_SIZE,
                 batch: int = 1) -> tuple:
    """Random features, one map per stride, at least 3 x 3 (mmcv's deformable
    convolutions refuse a map smaller than their kernel)."""
    gen = torch.Generator().manual_seed(0)
    return tuple(torch.rand(batch, channels, max(math.ceil(size / s), 3),
                            max(math.ceil(size / s), 3), generator=gen)
                 for s in strides)


def data_sample(with_gt: bool, size: int = IMAGE_SIZE, masks: bool = False,
                class_agnostic: bool = False) -> DetDataSample:
    """An image's meta data and its ground truth: the two boxes of
    :data:`GT_BOXES`, or none; ``masks``: each box filled, as bitmap masks;
    ``class_agnostic``: every label 0 (what RPNs train on)."""
    shape = (size, size)
    sample = DetDataSample(metainfo=dict(
        img_shape=shape, pad_shape=shape, batch_input_shape=shape, ori_shape=shape,
        scale_factor=(1.0, 1.0)))
    boxes = torch.tensor(GT_BOXES if with_gt else [], dtype=torch.float32)
    labels = torch.tensor(GT_LABELS if with_gt else [], dtype=torch.long)
    gt = InstanceData(bboxes=boxes.reshape(-1, 4),
                      labels=labels * 0 if class_agnostic else labels)
    if masks:
        bitmaps = np.zeros((len(boxes), size, size), dtype=np.uint8)
        for bitmap, (x1, y1, x2, y2) in zip(bitmaps, boxes.round().int().tolist()):
            bitmap[y1:y2, x1:x2] = 1
        gt.masks = BitmapMasks(bitmaps, size, size)
    sample.gt_instances = gt
    return sample


def loss_totals(losses: Dict[str, object]) -> Dict[str, torch.Tensor]:
    """Each loss of a head's loss dict as one scalar (per-level lists summed, as
    MMDetection's tests do); entries that are not losses (accuracies) left out."""
    return {key: sum(value) if isinstance(value, (list, tuple)) else value.sum()
            for key, value in losses.items() if 'loss' in key}


def check_loss_step(losses: Dict[str, object], with_gt: bool,
                    zero_without_gt: Iterable[str],
                    model: torch.nn.Module) -> Dict[str, float]:
    """MMDetection's assertions, and a backward pass: every loss finite; without
    ground truth the losses whose key contains one of ``zero_without_gt`` (the box
    losses) exactly 0 and the others (classification) above 0; with ground truth
    every loss above 0. The sum's gradients reach the model, all finite. Returns the
    losses as floats."""
    totals = loss_totals(losses)
    assert totals, 'no loss in the dict'
    for key, value in totals.items():
        assert torch.isfinite(value), (key, value)
        if not with_gt and any(part in key for part in zero_without_gt):
            assert value.item() == 0, (key, value)
        else:
            assert value.item() > 0, (key, value)
    model.zero_grad()
    sum(totals.values()).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    return {key: value.item() for key, value in totals.items()}


def assert_as_mmdet(loss_step: Callable[[bool], List[Dict[str, float]]]) -> None:
    """``loss_step(ours)`` with MMDetection's own losses, then with ours: the same
    loss dicts, value for value (the same seeds, the same model)."""
    theirs, ours = loss_step(False), loss_step(True)
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert mine.keys() == reference.keys()
        for key in mine:
            assert mine[key] == pytest.approx(reference[key], rel=1e-5, abs=1e-7), key
