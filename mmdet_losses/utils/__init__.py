"""Training-tool helpers: checkpoint allow-list (resume on torch >= 2.6), CPU
multi-process set-up, runner construction and config edits. Imported by the tools,
not by ``import mmdet_losses``."""
from .checkpoint import register_safe_globals, safe_globals
from .config import set_data_root, set_max_iters
from .dist import setup_cpu_distributed

__all__ = [
    'register_safe_globals', 'safe_globals', 'set_data_root', 'set_max_iters',
    'setup_cpu_distributed'
]
