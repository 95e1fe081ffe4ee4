"""Helpers of the training tools, not imported by ``import mmdet_losses``:

* ``checkpoint``: the allow-list that lets MMEngine checkpoints load (resume) under
  torch >= 2.6's ``weights_only=True``;
* ``dist``: gloo and CPU DDP for multi-process runs without CUDA;
* ``runner``: config loading and runner construction shared by ``tools/``;
* ``config``: ``set_data_root``, ``set_max_iters``;
* ``init``: ``SoftmaxPriorInit``, the background-prior init of softmax heads
  (registered when imported: configs list ``mmdet_losses.utils.init`` in
  ``custom_imports``);
* ``visualize``: drawing detections with OpenCV.
"""
from .checkpoint import register_safe_globals, safe_globals
from .config import set_data_root, set_max_iters
from .dist import setup_cpu_distributed

__all__ = [
    'register_safe_globals', 'safe_globals', 'set_data_root', 'set_max_iters',
    'setup_cpu_distributed'
]
