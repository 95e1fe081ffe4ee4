"""The ``MODELS`` registry of mmdet_losses.

It is a child of MMDetection's ``MODELS`` with scope ``mmdet_losses``, so a config
selects a loss of this package with ``type='mmdet_losses.<Name>'`` while the plain
names (``L1Loss``, ``GIoULoss``, ...) keep resolving to MMDetection's own classes.
"""
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMDET_MODELS,
    scope='mmdet_losses',
    locations=['mmdet_losses.losses'])
