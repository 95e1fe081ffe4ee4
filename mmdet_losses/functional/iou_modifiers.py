"""Inner-IoU and Focaler-IoU as one modifier of every IoU-family loss.

Both papers define a modified loss from a base loss ``L_X`` by swapping its IoU for a
modified one: ``L_Inner-X = L_X + IoU - IoU^inner`` (Zhang et al., arXiv 2311.02877)
and ``L_Focaler-X = L_X + IoU - IoU^focaler`` (Zhang & Zhang, arXiv 2401.10525).
:func:`with_iou_modifiers` gives an IoU-family function the keyword arguments
``inner_ratio`` and ``focaler_range`` and adds that correction, computed by
:func:`~.box_geometry.modified_iou`; no loss carries code of its own for them.
"""
import functools
import inspect
from typing import Callable

import torch
from torch import Tensor

from .box_geometry import check_iou_modifiers, modified_iou, upcast_boxes
from .dtypes import output_dtype


def alpha_power(x: Tensor, alpha: float) -> Tensor:
    """``x^alpha``, clamped at the smallest normal number where ``alpha != 1``
    (``d/dx x^alpha`` is infinite at 0 for ``alpha < 1``)."""
    return x if alpha == 1 else x.clamp(min=torch.finfo(x.dtype).tiny).pow(alpha)


def with_iou_modifiers(loss_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    r"""Decorator: ``loss_fn(pred, target, ..., inner_ratio=None, focaler_range=None)``.

    .. math::
        L = L_X + IoU^{\alpha} - (IoU^{mod})^{\alpha}, \quad
        IoU^{mod} = F_{d,u}(IoU(B_r, B^{gt}_r))

    i.e. the loss's ``1 - IoU^alpha`` term becomes ``1 - (IoU^mod)^alpha`` and every
    penalty (and factor) of ``L_X`` is kept; ``alpha = 1`` is the papers' form. With
    both modifiers the IoU of the auxiliary boxes is mapped by the Focaler interval.
    ``mode='log'`` and ``'square'`` of the IoU loss take no modifier.
    """
    signature = inspect.signature(loss_fn)

    @functools.wraps(loss_fn)
    def wrapper(pred: Tensor, target: Tensor, *args, inner_ratio=None,
                focaler_range=None, **kwargs) -> Tensor:
        if inner_ratio is None and focaler_range is None:
            return loss_fn(pred, target, *args, **kwargs)
        inner_ratio, focaler_range = check_iou_modifiers(inner_ratio, focaler_range)
        bound = signature.bind(pred, target, *args, **kwargs)
        bound.apply_defaults()
        options = bound.arguments
        check_modifiable_mode(options.get('mode', 'linear'), inner_ratio,
                              focaler_range)
        alpha = options.get('alpha', 1.0)
        # One upcast for the loss and its correction, one cast back of their sum:
        # the loss and the correction each hold the IoU's gradient with opposite
        # signs, which for a zero-width or coincident box overflows float16 (inf -
        # inf = NaN) if each is cast back on its own.
        boxes = upcast_boxes(pred, target)
        loss = loss_fn(*boxes, *args, **kwargs)
        iou, modified = modified_iou(*boxes, options['eps'], inner_ratio,
                                     focaler_range)
        correction = alpha_power(iou, alpha) - alpha_power(modified, alpha)
        return (loss + correction).to(output_dtype(pred))

    wrapper.__doc__ = (wrapper.__doc__ or '') + _MODIFIER_ARGS
    wrapper.__signature__ = signature.replace(parameters=[
        *signature.parameters.values(),
        inspect.Parameter('inner_ratio', inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter('focaler_range', inspect.Parameter.KEYWORD_ONLY,
                          default=None)])
    return wrapper


def check_modifiable_mode(mode: str, inner_ratio=None, focaler_range=None) -> None:
    """Inner-IoU and Focaler-IoU change ``1 - IoU``: the IoU loss in ``'linear'``."""
    if mode != 'linear':
        raise ValueError(f'inner_ratio={inner_ratio!r} and focaler_range='
                         f'{focaler_range!r} modify 1 - IoU and need '
                         f"mode='linear', got mode={mode!r}")


_MODIFIER_ARGS = '''
    IoU modifiers (every IoU-family function, see
    :mod:`mmdet_losses.functional.iou_modifiers`):
        inner_ratio: ``None`` or ``r > 0``: Inner-IoU, ``L + IoU - IoU(B_r, B^gt_r)``
            with both boxes scaled by ``r`` about their centres.
        focaler_range: ``None`` or ``(d, u)``, ``0 <= d < u <= 1``: Focaler-IoU,
            ``L + IoU - clamp((IoU - d) / (u - d), 0, 1)``.
'''
