"""Training hooks of mmdet_losses, registered in :data:`mmdet_losses.registry.HOOKS`
(configs: ``custom_hooks = [dict(type='mmdet_losses.NaNGuardHook')]``)."""
from .nan_guard import NaNGuardHook, NonFiniteLossError

__all__ = ['NaNGuardHook', 'NonFiniteLossError']
