"""Argument checks shared by the losses: clear ``ValueError`` messages that name the
argument, the value received and what is allowed."""
import math
from numbers import Real
from typing import Optional

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
