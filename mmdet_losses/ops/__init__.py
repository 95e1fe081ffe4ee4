"""Test-time box operations: DIoU-NMS (pure torch).

Importing this module also makes ``nms=dict(type='diou_nms', iou_threshold=...,
beta=...)`` work in every ``test_cfg`` that MMDetection hands to
``mmcv.ops.batched_nms`` (RetinaNet, FCOS, ATSS, GFL, RPN and RoI heads):
``batched_nms`` resolves a string ``type`` by evaluating it in the namespace of its
own module, ``mmcv.ops.nms``, so :func:`register_with_mmcv` adds one name there and
changes nothing else. Without mmcv's ops the pure functions still work.
"""
import importlib
import warnings

import torch
from torch import Tensor

from ..functional.validation import check_number
from .diou_nms import check_nms_inputs, batched_diou_nms, diou_nms, pairwise_diou


def mmcv_diou_nms(boxes: Tensor, scores: Tensor, iou_threshold: float,
                  beta: float = 1.0, offset: int = 0, score_threshold: float = 0.0,
                  max_num: int = -1):
    """:func:`diou_nms` with the signature and return value of ``mmcv.ops.nms``,
    which ``mmcv.ops.batched_nms`` calls for ``nms=dict(type='diou_nms', ...)``.

    Args:
        boxes: ``(N, 4)`` boxes, x1y1x2y2.
        scores: ``(N,)`` scores.
        iou_threshold: in ``[0, 1]``.
        beta: ``> 0``.
        offset: 0, or 1 for mmcv's legacy ``w = x2 - x1 + 1`` convention.
        score_threshold: boxes with a score not above it are dropped first (as
            mmcv does when it is positive).
        max_num: keep at most this many boxes (all when ``<= 0``).

    Returns:
        ``(dets, keep)``: ``(K, 5)`` kept boxes with their score as last column, and
        their ``(K,)`` int64 indices, in decreasing score order.
    """
    check_nms_inputs(boxes, scores, iou_threshold, beta)
    if offset not in (0, 1):
        raise ValueError(f'offset must be 0 or 1, got {offset!r}')
    check_number('score_threshold', score_threshold)
    valid = None
    if score_threshold > 0:
        valid = torch.nonzero(scores > score_threshold).view(-1)
        boxes, scores = boxes[valid], scores[valid]
    boxes_for_nms = boxes
    if offset:
        boxes_for_nms = torch.cat([boxes[:, :2], boxes[:, 2:] + offset], dim=1)
    keep = diou_nms(boxes_for_nms, scores, iou_threshold, beta)
    if max_num > 0:
        keep = keep[:max_num]
    dets = torch.cat([boxes[keep], scores[keep, None].to(boxes.dtype)], dim=1)
    if valid is not None:
        keep = valid[keep]
    return dets, keep


#: The ``type`` of the NMS config that selects :func:`mmcv_diou_nms`.
MMCV_NMS_TYPE = 'diou_nms'


def register_with_mmcv() -> bool:
    """Make ``type='diou_nms'`` resolvable by ``mmcv.ops.batched_nms``.

    Returns ``True`` when the name refers to this package's op afterwards, ``False``
    when mmcv's ops are missing or mmcv defines ``diou_nms`` itself (then mmcv's is
    left in place, with a warning).
    """
    try:
        # the module: mmcv.ops' attribute ``nms`` is the function of that name
        mmcv_nms_module = importlib.import_module('mmcv.ops.nms')
    except ImportError:
        return False
    current = getattr(mmcv_nms_module, MMCV_NMS_TYPE, None)
    if current is None:
        setattr(mmcv_nms_module, MMCV_NMS_TYPE, mmcv_diou_nms)
        return True
    if current is mmcv_diou_nms:
        return True
    warnings.warn(f'mmcv.ops.nms already defines {MMCV_NMS_TYPE!r}; '
                  "type='diou_nms' keeps using mmcv's, not mmdet_losses'")
    return False


MMCV_REGISTERED = register_with_mmcv()

__all__ = ['batched_diou_nms', 'diou_nms', 'mmcv_diou_nms', 'pairwise_diou',
           'register_with_mmcv', 'MMCV_NMS_TYPE', 'MMCV_REGISTERED']
