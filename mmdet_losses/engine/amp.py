"""Mixed-precision training on every device: ``tools/train.py --amp``.

On CUDA (and the other accelerators MMEngine supports) ``--amp`` selects MMEngine's
``AmpOptimWrapper``: float16 autocast with dynamic loss scaling. That wrapper refuses
to start without an accelerator, so on the CPU :class:`CPUAutocastOptimWrapper` runs
the forward pass under ``torch.autocast('cpu', dtype=torch.bfloat16)`` instead.
bfloat16 keeps float32's exponent range, so no loss scaling is needed; the losses of
this package compute in float32 inside autocast and return float32 values.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward context is CPU autocast.

    Args:
        dtype: the autocast dtype, ``'bfloat16'`` (the one CPU autocast supports
            for training) or a ``torch.dtype``.
        **kwargs: those of ``OptimWrapper`` (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, dtype='bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        dtype = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
        if dtype is not torch.bfloat16:
            raise ValueError(f'dtype must be bfloat16 for CPU autocast, got {dtype}')
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), \
                torch.autocast(device_type='cpu', dtype=self.cast_dtype):
            yield


def amp_optim_wrapper(device: str) -> dict:
    """The ``optim_wrapper`` fields ``--amp`` sets on ``device``."""
    if device == 'cpu':
        return dict(type='mmdet_losses.CPUAutocastOptimWrapper', dtype='bfloat16')
    return dict(type='AmpOptimWrapper', loss_scale='dynamic', dtype='float16')
