"""mmdet_losses: category and location losses for MMDetection 3.x.

Importing the package registers every loss in :data:`mmdet_losses.registry.MODELS`
(scope ``mmdet_losses``, a child of MMDetection's ``MODELS``), so configs select them
with ``type='mmdet_losses.<Name>'``.
"""
from .losses import (BaseLoss, CIoULoss, CrossEntropyLoss, DIoULoss, EIoULoss,
                     FocalLoss, GIoULoss, IoULoss, L1Loss, L2Loss, NWDLoss,
                     SIoULoss, SmoothL1Loss, WIoULoss)
from .registry import MODELS
from .version import __version__

__all__ = [
    'MODELS', '__version__', 'BaseLoss', 'CrossEntropyLoss', 'FocalLoss',
    'L1Loss', 'L2Loss', 'SmoothL1Loss', 'IoULoss', 'GIoULoss', 'DIoULoss',
    'CIoULoss', 'EIoULoss', 'SIoULoss', 'WIoULoss', 'NWDLoss'
]
