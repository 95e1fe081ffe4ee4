"""What MMEngine and a config need of this package besides the losses, registered by
``import mmdet_losses``:

* ``checkpoint``: the allow-list that lets MMEngine checkpoints load (resume) under
  torch >= 2.6's ``weights_only=True``;
* ``init``: ``SoftmaxPriorInit``, the background-prior init of softmax heads;
* ``amp``: ``CPUAutocastOptimWrapper``, mixed precision (bfloat16 autocast) on the CPU;
* ``mim``: the configs and tools of a checkout or an installed package, the
  ``mmdet_losses::`` config scope;
* ``doctor``: the config checks (``tools/check_config.py``, run by every tool);
* ``stack``: the two stacks that provide mmengine, mmcv and mmdet (OpenMMLab's and
  OneDL's forks), which one is installed, and what differs between them.
"""
from .checkpoint import register_safe_globals, safe_globals

__all__ = ['register_safe_globals', 'safe_globals']
