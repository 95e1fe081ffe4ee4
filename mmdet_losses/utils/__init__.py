"""Helpers of the training tools:

* ``checkpoint``: the allow-list that lets MMEngine checkpoints load (resume) under
  torch >= 2.6's ``weights_only=True`` (registered by ``import mmdet_losses``);
* ``dist``: gloo and CPU DDP for multi-process runs without CUDA;
* ``runner``: config loading, preparation and runner construction shared by
  ``tools/``;
* ``config``: ``set_data_root``, ``set_max_iters``;
* ``doctor``: the config checks every tool runs (``tools/check_config.py``);
* ``init``: ``SoftmaxPriorInit``, the background-prior init of softmax heads
  (registered by ``import mmdet_losses``);
* ``amp``: ``--amp`` on every device (bfloat16 autocast on the CPU);
* ``mim``: the configs and tools of a checkout or an installed package, the
  ``mmdet_losses::`` config scope;
* ``quiet``: the third-party warnings the tools silence;
* ``visualize``: drawing detections with OpenCV.
"""
from .checkpoint import register_safe_globals, safe_globals
from .config import set_data_root, set_max_iters
from .dist import setup_cpu_distributed

__all__ = [
    'register_safe_globals', 'safe_globals', 'set_data_root', 'set_max_iters',
    'setup_cpu_distributed'
]
