"""Argument checks shared by the losses: clear ``ValueError`` messages that name the
argument, the value received and what is allowed. Every check of a loss's arguments
lives here; data checks (label ranges, which cost a host synchronisation) are the
category conventions' (:mod:`.category.labels`)."""
import math
from numbers import Real
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: str, name: str = 'reduction') -> str:
    """Return ``reduction`` if it is one of ``'none'``, ``'mean'``, ``'sum'``."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f'{name} must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


def check_number(name: str,
                 value,
                 low: Optional[float] = None,
                 high: Optional[float] = None,
                 *,
                 low_open: bool = False,
                 high_open: bool = False) -> float:
    """Return ``float(value)`` if it is a finite real number inside the bounds.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open`` is set.
    """
    lo = '(' if low_open else '['
    hi = ')' if high_open else ']'
    if low is not None and high is not None:
        allowed = f'in {lo}{low}, {high}{hi}'
    elif low is not None:
        allowed = f'{">" if low_open else ">="} {low}'
    elif high is not None:
        allowed = f'{"<" if high_open else "<="} {high}'
    else:
        allowed = ''
    if isinstance(value, bool) or not isinstance(value, Real) \
            or not math.isfinite(value):
        raise ValueError(f'{name} must be a finite number'
                         f'{" " + allowed if allowed else ""}, got {value!r}')
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f'{name} must be {allowed}, got {value!r}')
    return value


def check_int(name: str, value, low: int) -> int:
    """Return ``value`` if it is an int (not a bool) ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
    return value


def check_choice(name: str, value, choices) -> object:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got {value!r}')
    return value


def check_same_shape(pred: Tensor, target: Tensor,
                     names: str = 'pred and target') -> None:
    """Raise ``ValueError`` naming both shapes when they differ."""
    if pred.shape != target.shape:
        raise ValueError(f'{names} must have the same shape, got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')


def check_class_weight(class_weight) -> Optional[Tensor]:
    """``None`` or the per-class weights as a float64 tensor (each finite and
    ``>= 0``), from a sequence or a 1-D tensor."""
    if class_weight is None:
        return None
    if isinstance(class_weight, Tensor) and class_weight.dim() == 1:
        values = class_weight.detach().cpu().tolist()
    elif isinstance(class_weight, (list, tuple)):
        values = list(class_weight)
    else:
        shown = f'a tensor of shape {tuple(class_weight.shape)}' \
            if isinstance(class_weight, Tensor) else repr(class_weight)
        raise ValueError('class_weight must be None, a sequence or a 1-D tensor of '
                         f'per-class weights, got {shown}')
    return torch.tensor([check_number(f'class_weight[{i}]', w, low=0.0)
                         for i, w in enumerate(values)], dtype=torch.float64)


def _number_pair(value) -> bool:
    return not isinstance(value, (str, bytes)) and isinstance(value, Sequence) \
        and len(value) == 2 \
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in value)


def check_iou_mode(mode: str, alpha: float = 1.0) -> None:
    """``mode`` is ``'log'``, ``'linear'`` or ``'square'``; Alpha-IoU needs
    ``'linear'``."""
    check_choice('mode', mode, ('log', 'linear', 'square'))
    if alpha != 1 and mode != 'linear':
        raise ValueError(f"alpha={alpha} (Alpha-IoU) needs mode='linear', "
                         f'got mode={mode!r}')


def check_iou_modifiers(inner_ratio: Optional[float],
                        focaler_range: Optional[Sequence[float]]
                        ) -> Tuple[Optional[float], Optional[Tuple[float, float]]]:
    """Validate the IoU modifiers of :mod:`.location.modifiers`.

    Returns:
        ``inner_ratio`` as a float (``> 0``) or ``None``; ``focaler_range`` as a pair
        of floats ``(d, u)`` with ``0 <= d < u <= 1``, or ``None``.
    """
    if inner_ratio is not None:
        inner_ratio = check_number('inner_ratio', inner_ratio, low=0.0, low_open=True)
    if focaler_range is not None:
        pair = _number_pair(focaler_range)
        if not pair or not 0 <= focaler_range[0] < focaler_range[1] <= 1:
            shown = tuple(focaler_range) if pair else focaler_range
            raise ValueError('focaler_range must be a pair (d, u) of numbers with '
                             f'0 <= d < u <= 1, got {shown!r}')
        focaler_range = (float(focaler_range[0]), float(focaler_range[1]))
    return inner_ratio, focaler_range


def check_modifiable_mode(mode: str, inner_ratio=None, focaler_range=None) -> None:
    """Inner-IoU and Focaler-IoU change ``1 - IoU``: the IoU loss in ``'linear'``."""
    if mode != 'linear':
        raise ValueError(f'inner_ratio={inner_ratio!r} and focaler_range='
                         f'{focaler_range!r} modify 1 - IoU and need '
                         f"mode='linear', got mode={mode!r}")


def check_image_size(image_size: Sequence[float]) -> Tuple[float, float]:
    """``image_size`` is a pair ``(W, H)`` of finite numbers ``> 0``."""
    pair = _number_pair(image_size)
    if not pair or not all(0 < v < math.inf for v in image_size):
        shown = tuple(image_size) if pair else image_size
        raise ValueError('image_size must be a pair (W, H) of numbers > 0, the size '
                         f'of the network input in pixels, got {shown!r}')
    return float(image_size[0]), float(image_size[1])
