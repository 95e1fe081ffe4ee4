"""mmdet_losses: category and location losses for MMDetection 3.x.

Importing the package registers every loss in :data:`mmdet_losses.registry.MODELS`
(scope ``mmdet_losses``, a child of MMDetection's ``MODELS``), so configs select them
with ``type='mmdet_losses.<Name>'``. Without MMDetection installed, the pure-torch
functions of :mod:`mmdet_losses.functional` still work; the registered modules then
raise an ``ImportError`` that says so.

The list of registered losses is ``mmdet_losses.losses.__all__``, the one export list;
this module re-exports it.
"""
from .version import __version__
# DIoU-NMS, pure torch; where mmcv's ops exist, also test_cfg nms type='diou_nms'
from . import ops  # noqa: F401

try:
    import mmdet  # noqa: F401
except ImportError as error:
    _MMDET_ERROR = error
    __all__ = ['__version__']
else:
    _MMDET_ERROR = None
    from . import losses as _losses
    from .losses import *  # noqa: F401,F403
    from .registry import MODELS
    # What a config's custom_imports=['mmdet_losses'] must be enough for: the hooks
    # and the softmax prior init registered (the quality heads are imported by the
    # registry when a config names one), resuming MMEngine checkpoints on
    # torch >= 2.6 (the allow-list), and `_base_ = 'mmdet_losses::...'` configs.
    from . import hooks as _hooks  # noqa: F401
    from .engine import amp as _amp  # noqa: F401
    from .engine import init as _init  # noqa: F401
    from .engine.checkpoint import register_safe_globals as _register_safe_globals
    from .engine.mim import register_config_scope as _register_config_scope
    _register_safe_globals()
    _register_config_scope()
    __all__ = ['MODELS', '__version__', *_losses.__all__]


def __getattr__(name):
    if _MMDET_ERROR is not None and (name == 'MODELS' or name.endswith('Loss')
                                     or name[:1].isupper()):
        raise ImportError(
            f"mmdet_losses.{name} needs MMDetection 3.x: pip install "
            "'mmdet_losses[openmmlab]' (mmdet 3.3) or 'mmdet_losses[onedl]' "
            '(onedl-mmdetection), and build mmcv (README); mmdet_losses.functional '
            'works without it') from _MMDET_ERROR
    raise AttributeError(f'module mmdet_losses has no attribute {name!r}')
