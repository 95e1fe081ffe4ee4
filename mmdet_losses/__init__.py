"""mmdet_losses: category and location losses for MMDetection 3.x.

Importing the package registers every loss in :data:`mmdet_losses.registry.MODELS`
(scope ``mmdet_losses``, a child of MMDetection's ``MODELS``), so configs select them
with ``type='mmdet_losses.<Name>'``. Without MMDetection installed, the pure-torch
functions of :mod:`mmdet_losses.functional` still work; the registered modules then
raise an ``ImportError`` that says so.
"""
from .version import __version__

_LOSSES = ('BaseLoss', 'CrossEntropyLoss', 'FocalLoss', 'L1Loss', 'L2Loss',
           'SmoothL1Loss', 'IoULoss', 'GIoULoss', 'DIoULoss', 'CIoULoss',
           'EIoULoss', 'SIoULoss', 'WIoULoss', 'NWDLoss')

try:
    import mmdet  # noqa: F401
except ImportError as error:
    _MMDET_ERROR = error
else:
    _MMDET_ERROR = None
    from .losses import (BaseLoss, CIoULoss, CrossEntropyLoss, DIoULoss,
                         EIoULoss, FocalLoss, GIoULoss, IoULoss, L1Loss, L2Loss,
                         NWDLoss, SIoULoss, SmoothL1Loss, WIoULoss)
    from .registry import MODELS


def __getattr__(name):
    if _MMDET_ERROR is not None and name in _LOSSES + ('MODELS', ):
        raise ImportError(
            f'mmdet_losses.{name} needs MMDetection 3.x (pip install mmdet); '
            'mmdet_losses.functional works without it') from _MMDET_ERROR
    raise AttributeError(f'module mmdet_losses has no attribute {name!r}')


__all__ = ['MODELS', '__version__', *_LOSSES]
