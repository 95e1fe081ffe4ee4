r"""The modifiers of the IoU family: the Alpha-IoU power, Inner-IoU and Focaler-IoU.

* **Alpha-IoU** (He et al., NeurIPS 2021, arXiv 2110.13675) raises the IoU and every
  penalty to a power: every ``1 - IoU + penalty`` loss is :func:`iou_family_form`.
* **Inner-IoU** (Zhang et al., arXiv 2311.02877) and **Focaler-IoU** (Zhang & Zhang,
  arXiv 2401.10525) define a modified loss from a base loss ``L_X`` by swapping its
  IoU for a modified one: ``L_Inner-X = L_X + IoU - IoU^inner`` and
  ``L_Focaler-X = L_X + IoU - IoU^focaler``. :func:`with_iou_modifiers` gives an
  IoU-family function the keyword arguments ``inner_ratio`` and ``focaler_range``
  and adds that correction, computed by :func:`modified_iou`; no loss carries code of
  its own for them.
"""
import functools
import inspect
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from ..dtypes import output_dtype, tiny
from ..validation import check_iou_modifiers, check_modifiable_mode
from .geometry import BOX_EPS, aligned_box_terms, upcast_boxes


def alpha_power(x: Tensor, alpha: float) -> Tensor:
    """``x^alpha``, clamped at the smallest normal number where ``alpha != 1``
    (``d/dx x^alpha`` is infinite at 0 for ``alpha < 1``)."""
    return x if alpha == 1 else x.clamp(min=tiny(x)).pow(alpha)


def iou_family_form(iou: Tensor, alpha: float, *penalties: Tensor) -> Tensor:
    r"""The form of the IoU family, with the Alpha-IoU power.

    .. math:: L = 1 - IoU^{\alpha} + \sum_k P_k^{\alpha}

    ``alpha = 1`` is each paper's loss."""
    loss = 1 - alpha_power(iou, alpha)
    for penalty in penalties:
        loss = loss + alpha_power(penalty, alpha)
    return loss


def scale_boxes(boxes: Tensor, ratio: float) -> Tensor:
    """Boxes scaled by ``ratio`` about their centres (Inner-IoU's auxiliary boxes).

    Args:
        boxes: ``(*, 4)`` x1y1x2y2; an inverted side counts as size 0.
        ratio: ``> 0``.

    Returns:
        ``(*, 4)`` boxes of the same centres and ``ratio`` times the sizes.
    """
    x1, y1, x2, y2 = boxes.unbind(-1)
    half_w = (x2 - x1).clamp(min=0) * (ratio / 2)
    half_h = (y2 - y1).clamp(min=0) * (ratio / 2)
    cx, cy = (x1 + x2) * 0.5, (y1 + y2) * 0.5
    return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)


def modified_iou(pred: Tensor, target: Tensor, eps: float = BOX_EPS,
                 inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Tuple[float, float]] = None
                 ) -> Tuple[Tensor, Tensor]:
    r"""The IoU and its Inner-IoU / Focaler-IoU modification.

    .. math::
        IoU^{inner} = IoU(B_r, B^{gt}_r), \quad
        IoU^{focaler} = \min\Big(1, \max\Big(0, \frac{IoU - d}{u - d}\Big)\Big)

    ``B_r``: ``B`` scaled by ``r = inner_ratio`` about its centre (Zhang et al.,
    Inner-IoU, arXiv 2311.02877; ``r < 1`` for high-IoU samples, ``r > 1`` for
    low-IoU ones). ``(d, u) = focaler_range`` (Zhang & Zhang, Focaler-IoU, arXiv
    2401.10525; raising ``d`` drops the IoU gradient of poor matches and shifts the
    focus to easier samples, lowering ``u`` drops that of near-perfect ones and
    shifts it to harder samples). Together, the inner IoU is mapped by the Focaler interval:
    ``IoU_mod = focaler(IoU_inner)``. The mapping is piecewise linear: its gradient
    is 0 outside ``[d, u]``.

    Args:
        pred, target: ``(*, 4)`` boxes, float32/float64 (see
            :func:`~.geometry.upcast_boxes`).
        eps: added to the union.
        inner_ratio: ``None`` (no auxiliary boxes) or ``> 0``.
        focaler_range: ``None`` (identity) or ``(d, u)``, ``0 <= d < u <= 1``.

    Returns:
        ``(iou, iou_mod)``, each ``(*)``.
    """
    iou = aligned_box_terms(pred, target, eps).iou
    modified = iou
    if inner_ratio is not None:
        modified = aligned_box_terms(scale_boxes(pred, inner_ratio),
                                     scale_boxes(target, inner_ratio), eps).iou
    if focaler_range is not None:
        low, high = focaler_range
        modified = ((modified - low) / (high - low)).clamp(0, 1)
    return iou, modified


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


_MODIFIER_ARGS = '''
    IoU modifiers (every IoU-family function, see
    :mod:`mmdet_losses.functional.location.modifiers`):
        inner_ratio: ``None`` or ``r > 0``: Inner-IoU, ``L + IoU - IoU(B_r, B^gt_r)``
            with both boxes scaled by ``r`` about their centres.
        focaler_range: ``None`` or ``(d, u)``, ``0 <= d < u <= 1``: Focaler-IoU,
            ``L + IoU - clamp((IoU - d) / (u - d), 0, 1)``.
'''
