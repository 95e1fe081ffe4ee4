"""Resuming MMEngine checkpoints on torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. MMEngine 0.10.7 calls
``torch.load`` without the argument, and its checkpoints hold more than tensors: the
message hub's :class:`~mmengine.logging.HistoryBuffer` objects, which keep their
history in numpy arrays and their statistics as references to their own methods
(pickled as ``getattr(HistoryBuffer, 'mean')``). The restricted unpickler rejects all
of these, so ``--resume`` fails.

Instead of loading with ``weights_only=False`` (which runs whatever code a checkpoint
file contains), :func:`register_safe_globals` allow-lists exactly what such
checkpoints need with :func:`torch.serialization.add_safe_globals`:
``HistoryBuffer``, numpy arrays, dtypes and scalars, and, under the name
``builtins.getattr``, a stand-in for ``getattr`` that resolves only
``HistoryBuffer``'s registered statistics methods. The real ``getattr`` stays
forbidden: it would let a checkpoint reach (and then mutate) any object's internals.

``import mmdet_losses`` registers the list, so MMDetection's own ``tools/train.py
--resume`` works with ``custom_imports = dict(imports=['mmdet_losses'])``.
"""
import pickle
from typing import List, Tuple, Union

import numpy as np
import torch

_registered = False
# HistoryBuffer's built-in statistics; it registers them on first instantiation.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')

SafeGlobal = Union[object, Tuple[object, str]]


def history_buffer_getattr(obj: object, name: str) -> object:
    """``getattr`` restricted to ``HistoryBuffer.<statistic>`` (``min``, ``max``,
    ``mean``, ``current`` and any registered with ``register_statistics``).

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer

    if obj is HistoryBuffer and isinstance(name, str) and (
            name in HISTORY_BUFFER_STATISTICS
            or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only HistoryBuffer '
        'statistics methods are allowed')


def _numpy_helpers() -> Tuple[object, object]:
    """numpy's array and scalar unpickling helpers (``numpy._core`` since numpy 2)."""
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


def safe_globals() -> List[SafeGlobal]:
    """What an MMEngine training checkpoint needs beyond tensors and builtin
    containers: objects, or ``(object, pickled name)`` pairs where the name in the
    file differs from the object's own (numpy 1 vs 2 module paths, ``getattr``)."""
    from mmengine.logging import HistoryBuffer

    reconstruct, scalar = _numpy_helpers()
    entries: List[SafeGlobal] = [HistoryBuffer, np.ndarray, np.dtype]
    # Both spellings, so checkpoints written under numpy 1 load under numpy 2 and
    # the other way round.
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries += [(reconstruct, f'{module}._reconstruct'),
                    (scalar, f'{module}.scalar')]
    # Some numpy versions pickle a dtype through its class (numpy.dtypes.*DType).
    entries += sorted({type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGUSV'},
                      key=lambda cls: cls.__name__)
    entries.append((history_buffer_getattr, 'builtins.getattr'))
    return entries


def register_safe_globals() -> bool:
    """Allow-list the contents of MMEngine checkpoints for ``torch.load``; idempotent.

    Returns:
        ``True`` if this torch has ``add_safe_globals`` (torch >= 2.4) and the list is
        now registered, ``False`` on an older torch, whose ``torch.load`` does not
        restrict unpickling by default and needs nothing.
    """
    global _registered
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return False
    if not _registered:
        add_safe_globals(safe_globals())
        _registered = True
    return True
