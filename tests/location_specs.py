"""How the tests call each location loss: the functional and the registered module
behind every key of ``tests/cases.py``, plus random and degenerate box pairs.

A box or coordinate loss of the registry gets its key here from its spec (its docs
page's name, its defaults; :func:`from_specs`); the entries below are the variants
the table checks besides, or instead of, a loss's defaults."""
import inspect
from typing import Callable, Dict, NamedTuple, Optional

import torch
from torch import Tensor

import mmdet_losses.functional as F
from mmdet_losses import MODELS
from mmdet_losses.losses import SPECS
from mmdet_losses.spec import BOXES, REGRESSION_TARGETS
from reference_boxes import DEGENERATE_PAIRS, pair_batch


class LossSpec(NamedTuple):
    functional: Callable[..., Tensor]
    fn_kwargs: Dict[str, object]
    module: Dict[str, object]      # config for MODELS.build (scope-local type)
    per_box: bool                  # element-wise shape (N,) rather than (N, 4)
    stop_gradient: bool = False    # holds a term constant for the gradient


EXPLICIT = {
    'iou_log': LossSpec(F.iou_loss, dict(mode='log'),
                        dict(type='IoULoss', mode='log'), True),
    'iou_linear': LossSpec(F.iou_loss, dict(mode='linear'),
                           dict(type='IoULoss', mode='linear'), True),
    'iou_square': LossSpec(F.iou_loss, dict(mode='square'),
                           dict(type='IoULoss', mode='square'), True),
    'ciou': LossSpec(F.ciou_loss, {}, dict(type='CIoULoss'), True, True),
    'ciou_gated': LossSpec(F.ciou_loss, dict(aspect_iou_threshold=0.5),
                           dict(type='CIoULoss', aspect_iou_threshold=0.5), True,
                           True),
    'wiou_v1': LossSpec(F.wiou_loss, {}, dict(type='WIoULoss', version='v1'), True,
                        True),
    # v3's running mean: a tensor for the functional, the module's buffer
    'wiou_v3': LossSpec(F.wiou_loss, dict(iou_loss_mean=0.5),
                        dict(type='WIoULoss', version='v3'), True, True),
    # image_size (30, 40): W^2 + H^2 = 2500, round numbers in tests/cases.py
    'mpdiou': LossSpec(F.mpdiou_loss, dict(image_size=(30.0, 40.0)),
                       dict(type='MPDIoULoss', image_size=(30, 40)), True),
    'piou': LossSpec(F.piou_loss, {}, dict(type='PIoULoss'), True),
    'piou_v2': LossSpec(F.piou_loss, dict(version='v2'),
                        dict(type='PIoULoss', version='v2'), True),
    'wiou_v2': LossSpec(F.wiou_loss, dict(iou_loss_mean=0.5, focus_gamma=0.5),
                        dict(type='WIoULoss', version='v2'), True, True),
}
# Tested on their own: GHM-R's weights depend on the whole batch
# (tests/test_location_coordinate.py).
NOT_IN_THE_TABLE = ('GHMR', )


def from_specs(explicit: Dict[str, LossSpec]) -> Dict[str, LossSpec]:
    """``explicit`` and, for every box or coordinate loss of the registry that has
    no entry there, its entry with its defaults under its page's name."""
    covered = {spec.module['type'] for spec in explicit.values()}
    derived = {}
    for name, spec in SPECS.items():
        if spec.compares in (BOXES, REGRESSION_TARGETS) and name not in covered \
                and name not in NOT_IN_THE_TABLE:
            loss_fn = MODELS.get(name).loss_fn
            derived[spec.page] = LossSpec(getattr(loss_fn, 'fn', loss_fn), {},
                                          dict(type=name), spec.compares == BOXES)
    return {**explicit, **derived}


LOSSES = from_specs(EXPLICIT)
IOU_FAMILY = tuple(key for key, spec in LOSSES.items() if spec.per_box)
# The losses of the 1 - IoU + penalty form: they take inner_ratio and focaler_range.
IOU_MODIFIABLE = tuple(
    key for key, spec in LOSSES.items()
    if 'inner_ratio' in inspect.signature(spec.functional).parameters
    and spec.fn_kwargs.get('mode', 'linear') == 'linear')
# The losses whose running mean of the IoU loss is a module buffer.
RUNNING_MEAN = tuple(key for key, spec in LOSSES.items()
                     if 'iou_loss_mean' in spec.fn_kwargs)


def call_functional(key: str, pred: Tensor, target: Tensor, **kwargs) -> Tensor:
    """The element-wise loss ``key`` with its default and the given kwargs."""
    spec = LOSSES[key]
    kwargs = {**spec.fn_kwargs, **kwargs}
    if 'iou_loss_mean' in kwargs:
        kwargs['iou_loss_mean'] = torch.tensor(kwargs['iou_loss_mean'],
                                               dtype=torch.float64)
    return spec.functional(pred, target, **kwargs)


def build_module(key: str, iou_loss_mean: Optional[float] = None, **kwargs):
    """The registered module of ``key`` built through the registry, in eval mode
    (WIoU v3 then uses, and keeps, ``iou_loss_mean``)."""
    spec = LOSSES[key]
    config = {**spec.module, **kwargs}
    # scoped type: a bare name resolves in whatever default scope is set
    module = MODELS.build({**config, 'type': f"mmdet_losses.{config['type']}"})
    if key in RUNNING_MEAN:
        mean = spec.fn_kwargs['iou_loss_mean'] if iou_loss_mean is None \
            else iou_loss_mean
        module.iou_loss_mean.fill_(mean)
    return module.eval()


def random_boxes(n: int, generator: torch.Generator, dtype=torch.float64,
                 low_size: float = 1.0, high_size: float = 10.0,
                 spread: float = 10.0) -> Tensor:
    """``(n, 4)`` well-formed x1y1x2y2 boxes with sides in ``[low_size, high_size]``."""
    corner = torch.rand(n, 2, generator=generator, dtype=torch.float64) * spread
    size = low_size + torch.rand(n, 2, generator=generator, dtype=torch.float64) * (
        high_size - low_size)
    return torch.cat([corner, corner + size], dim=1).to(dtype)


def random_pairs(n: int, seed: int = 0, dtype=torch.float64, **kwargs):
    """Pred/target pairs: overlapping, nested and disjoint ones in a 20 px field."""
    generator = torch.Generator().manual_seed(seed)
    return (random_boxes(n, generator, dtype, **kwargs),
            random_boxes(n, generator, dtype, **kwargs))


def degenerate_batch(dtype=torch.float64):
    return pair_batch(DEGENERATE_PAIRS, dtype)
