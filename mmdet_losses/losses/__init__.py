"""Registered loss modules; ``__all__`` is the package's one list of them."""
from .base import BaseLoss
from .classification import CrossEntropyLoss, FocalLoss
from .ghmc import GHMC
from .iou import (CIoULoss, DIoULoss, EIoULoss, GIoULoss, IoULoss, NWDLoss,
                  SIoULoss, WIoULoss)
from .iou_frontier import MPDIoULoss, PIoULoss, ShapeIoULoss
from .quality import DistributionFocalLoss, QualityFocalLoss, VarifocalLoss
from .regression import GHMR, BalancedL1Loss, L1Loss, L2Loss, SmoothL1Loss

__all__ = [
    'BaseLoss', 'CrossEntropyLoss', 'FocalLoss', 'QualityFocalLoss', 'VarifocalLoss',
    'DistributionFocalLoss', 'GHMC', 'L1Loss', 'L2Loss', 'SmoothL1Loss', 'IoULoss',
    'GIoULoss', 'DIoULoss', 'CIoULoss', 'EIoULoss', 'SIoULoss', 'WIoULoss', 'NWDLoss',
    'MPDIoULoss', 'ShapeIoULoss', 'PIoULoss', 'BalancedL1Loss', 'GHMR'
]
