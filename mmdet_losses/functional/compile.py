"""When to run hot loss kernels through ``torch.compile``.

``MMDET_LOSSES_COMPILE`` (environment) or :func:`set_compile` chooses: ``'auto'``
(default) compiles where a backend compiler is available (a C++ compiler on the CPU,
Triton on CUDA) and falls back to eager otherwise or if compilation fails;
``'1'``/``True`` requires compilation; ``'0'``/``False`` always runs eager. An error
that the function also raises when run eagerly (an input check: mismatched shapes, bad
labels) is the caller's and propagates unchanged; only an error of the compiler itself
switches compilation off.
Kernels are compiled with ``dynamic=True`` so a new batch size does not recompile.
Kernels over ``(N, 4)`` boxes are compiled with CPU vectorisation forced on
(:func:`vectorised_cpu`).
"""
import contextlib
import functools
import os
import shutil
import warnings
from typing import Callable, Optional, Union

import torch

__all__ = ['get_compile', 'maybe_compiled', 'set_compile']

_MODES = {'auto': 'auto', '1': 'on', 'true': 'on', 'on': 'on',
          '0': 'off', 'false': 'off', 'off': 'off'}
_mode = _MODES.get(os.environ.get('MMDET_LOSSES_COMPILE', 'auto').lower(), 'auto')


def set_compile(mode: Union[str, bool]) -> None:
    """Choose ``'auto'``, ``True`` (always compile) or ``False`` (always eager)."""
    global _mode
    key = str(mode).lower()
    if key not in _MODES:
        raise ValueError("compile mode must be 'auto', True or False, "
                         f'got {mode!r}')
    _mode = _MODES[key]


def get_compile() -> str:
    """The current mode: ``'auto'``, ``'on'`` or ``'off'``."""
    return _mode


@functools.lru_cache(maxsize=None)
def _backend_available(device_type: str) -> bool:
    if not hasattr(torch, 'compile'):
        return False
    if device_type == 'cpu':
        return shutil.which(os.environ.get('CXX', 'g++')) is not None \
            or shutil.which('c++') is not None
    if device_type == 'cuda':
        try:
            from torch.utils._triton import has_triton
            return has_triton()
        except ImportError:
            return False
    return False


def vectorised_cpu():
    """A context in which inductor vectorises CPU kernels with many strided loads.

    Inductor's CPU heuristic turns vectorisation off for kernels with many strided
    loads; an ``(N, 4)`` box is four stride-4 loads, and the box kernels run 2-3x
    faster vectorised all the same (measured: the fused IoU kernels at 1M pairs,
    DIoU-NMS's pairwise criterion at 200 x 400 boxes). The setting is part of
    inductor's cache key, so graphs compiled inside it are kept apart."""
    try:
        from torch._inductor import config
    except ImportError:
        return contextlib.nullcontext()
    if not hasattr(config.cpp, 'enable_tiling_heuristics'):
        return contextlib.nullcontext()
    return config.patch({'cpp.enable_tiling_heuristics': False})


class MaybeCompiled:
    """A function run compiled or eager according to the mode (see module doc);
    ``vectorise``: compiled (and run) inside :func:`vectorised_cpu`, for kernels
    over ``(N, 4)`` boxes that autograd does not differentiate."""

    def __init__(self, fn: Callable, vectorise: bool = False) -> None:
        self.fn = fn
        self.vectorise = vectorise
        self._compiled = None
        self._failed = set()
        functools.update_wrapper(self, fn)

    def use_compiled(self, device_type: str) -> bool:
        if _mode == 'off' or device_type in self._failed:
            return False
        return _mode == 'on' or _backend_available(device_type)

    def __call__(self, *args, **kwargs):
        tensor = next((a for a in args if isinstance(a, torch.Tensor)), None)
        device_type = 'cpu' if tensor is None else tensor.device.type
        # Empty batches run eager: compiling them would specialise on size 0.
        if tensor is None or tensor.numel() == 0 \
                or not self.use_compiled(device_type):
            return self.fn(*args, **kwargs)
        if self._compiled is None:
            self._compiled = torch.compile(self.fn, dynamic=True)
        try:
            with vectorised_cpu() if self.vectorise else contextlib.nullcontext():
                return self._compiled(*args, **kwargs)
        except Exception as error:
            compile_error = error
        # Tell an input error (the function raises eagerly too: it propagates
        # unchanged, compilation stays on) from a compiler failure (eager works:
        # compilation is switched off for this device, or required and raised).
        result = self.fn(*args, **kwargs)
        if _mode == 'on':
            raise compile_error
        self._failed.add(device_type)
        warnings.warn(f'torch.compile of {self.fn.__name__} failed on '
                      f'{device_type} ({type(compile_error).__name__}: '
                      f'{compile_error}); running eager from now on')
        return result


def maybe_compiled(fn: Optional[Callable] = None, *, vectorise: bool = False):
    """Decorator, ``@maybe_compiled`` or ``@maybe_compiled(vectorise=True)``: see
    :class:`MaybeCompiled`."""
    if fn is None:
        return functools.partial(MaybeCompiled, vectorise=vectorise)
    return MaybeCompiled(fn, vectorise)
