"""Registered loss modules (scope ``mmdet_losses``)."""
from .base import BaseLoss
from .classification import CrossEntropyLoss, FocalLoss
from .iou import (CIoULoss, DIoULoss, EIoULoss, GIoULoss, IoULoss, NWDLoss,
                  SIoULoss, WIoULoss)
from .regression import L1Loss, L2Loss, SmoothL1Loss

__all__ = [
    'BaseLoss', 'CrossEntropyLoss', 'FocalLoss', 'L1Loss', 'L2Loss',
    'SmoothL1Loss', 'IoULoss', 'GIoULoss', 'DIoULoss', 'CIoULoss', 'EIoULoss',
    'SIoULoss', 'WIoULoss', 'NWDLoss'
]
