"""Registered loss modules. Each class declares its facts in its ``spec``
(:class:`~mmdet_losses.spec.LossSpec`); :data:`SPECS` collects them, in the order of
the kinds (:data:`~mmdet_losses.spec.KINDS`) and, within a kind, of the modules
below, and ``__all__``, the package's one list of losses, is derived from it."""
from typing import Dict, Optional

from ..registry import MODELS
from ..spec import LossSpec, ordered
from .base import BaseLoss
# Importing a module registers its losses.
from . import category, quality, iou, iou_shape, iou_corners, nwd  # noqa: F401,I001
from . import coordinate, ghm, distribution  # noqa: F401,I001


def _collect() -> Dict[str, LossSpec]:
    specs = {}
    for name, cls in MODELS.module_dict.items():
        if isinstance(cls, type) and issubclass(cls, BaseLoss):
            spec = cls.__dict__.get('spec')
            if not isinstance(spec, LossSpec):
                raise TypeError(f'{cls.__module__}.{name} is registered without a '
                                'spec of its own: set spec = LossSpec(...) in its '
                                'class body (mmdet_losses.spec)')
            specs[name] = spec
    return ordered(specs)


#: The spec of every registered loss, by class name.
SPECS: Dict[str, LossSpec] = _collect()
globals().update({name: MODELS.module_dict[name] for name in SPECS})


def spec_of(type_name: str) -> Optional[LossSpec]:
    """The spec of a config's loss ``type`` (``'mmdet_losses.GIoULoss'`` or
    ``'GIoULoss'``), ``None`` where this package has no loss of that name."""
    return SPECS.get(str(type_name).split('.')[-1])


__all__ = ['BaseLoss', *SPECS]
