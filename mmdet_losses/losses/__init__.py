"""Registered loss modules; ``__all__`` is the package's one list of them."""
from .base import BaseLoss
from .category import CrossEntropyLoss, FocalLoss
from .coordinate import BalancedL1Loss, L1Loss, L2Loss, SmoothL1Loss
from .distribution import DistributionFocalLoss
from .ghm import GHMC, GHMR
from .iou import CIoULoss, DIoULoss, EIoULoss, GIoULoss, IoULoss, WIoULoss
from .iou_corners import MPDIoULoss, PIoULoss
from .iou_shape import ShapeIoULoss, SIoULoss
from .nwd import NWDLoss
from .quality import QualityFocalLoss, VarifocalLoss

__all__ = [
    'BaseLoss', 'CrossEntropyLoss', 'FocalLoss', 'QualityFocalLoss', 'VarifocalLoss',
    'DistributionFocalLoss', 'GHMC', 'L1Loss', 'L2Loss', 'SmoothL1Loss', 'IoULoss',
    'GIoULoss', 'DIoULoss', 'CIoULoss', 'EIoULoss', 'SIoULoss', 'WIoULoss', 'NWDLoss',
    'MPDIoULoss', 'ShapeIoULoss', 'PIoULoss', 'BalancedL1Loss', 'GHMR'
]
