"""What the training tools share: config loading and edits (``runner``, ``config``),
multi-process runs without CUDA (``dist``), the third-party warnings they silence
(``quiet``), the short terminal view of a run with a progress bar (``console``)."""
from .config import set_data_root, set_max_iters
from .dist import setup_cpu_distributed

__all__ = ['set_data_root', 'set_max_iters', 'setup_cpu_distributed']
