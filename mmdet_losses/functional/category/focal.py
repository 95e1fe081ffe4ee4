"""Sigmoid and softmax Focal Loss (Lin et al., arXiv 1708.02002), element-wise, in
log space (the plain autograd reference of the fused kernel in ``fused/focal.py``).

Conventions (MMDetection's, :mod:`.labels`): a sigmoid loss scores ``C`` foreground
classes with ``C`` logits, and the integer label ``C`` means background (an all-zero
target row); a softmax loss scores ``C + 1`` logits, the last one background.
Half-precision inputs are computed in float32 and the result is cast back to the input
dtype.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..dtypes import tiny, upcast
from .labels import DEFAULT_IGNORE_INDEX

__all__ = ['sigmoid_focal_loss', 'softmax_focal_loss']


def sigmoid_focal_loss(pred: Tensor,
                       target: Tensor,
                       gamma: float = 2.0,
                       alpha: Optional[float] = 0.25,
                       activated: bool = False) -> Tensor:
    r"""Sigmoid Focal Loss, element-wise (Lin et al. 2017, eq. 5).

    .. math::
        FL = -\alpha_t\, q^{\gamma}\, \big(t \log p + (1 - t) \log (1 - p)\big),
        \quad q = p (1 - t) + (1 - p) t, \quad
        \alpha_t = \alpha t + (1 - \alpha)(1 - t)

    For a hard target ``t`` in ``{0, 1}``, ``q = 1 - p_t`` and this is the paper's
    ``-alpha_t (1 - p_t)^gamma log p_t``. For a soft target, ``q`` is the expected
    ``|T - p|`` for ``T ~ Bernoulli(t)``, MMDetection's form (``(1 - p) t + p (1 - t)``
    in its ``py_sigmoid_focal_loss``); it does not vanish at ``p = t`` (at ``x = 0``,
    ``t = 0.2``, ``gamma = 2``, no alpha: ``0.25 ln 2 ... = 0.1733``). The loss that
    vanishes at ``p = t``, ``|t - p|^beta BCE`` (``0.0624`` there), is the Quality Focal
    Loss (:func:`~.quality.quality_focal_loss`). ``gamma = 0`` with ``alpha = None``
    is binary cross-entropy.

    Args:
        pred: ``(N, C)`` logits (probabilities if ``activated``).
        target: ``(N, C)`` targets in ``[0, 1]`` (one-hot or soft).
        gamma: focusing parameter, ``>= 0``.
        alpha: weight of the positive term in ``[0, 1]``; ``None``: no balancing.
        activated: ``pred`` already holds probabilities.

    Returns:
        ``(N, C)`` loss in ``pred``'s dtype.

    Note:
        ``q`` is clamped at the smallest normal float before the power, so that
        saturated logits (``+-100``) and ``gamma < 1`` give finite gradients.
    """
    x = upcast(pred)
    t = target.to(x.dtype)
    if activated:
        p = x
        bce = F.binary_cross_entropy(p, t, reduction='none')
        one_minus_pt = p * (1 - t) + (1 - p) * t
    else:
        bce = F.binary_cross_entropy_with_logits(x, t, reduction='none')
        one_minus_pt = torch.sigmoid(x) * (1 - t) + torch.sigmoid(-x) * t
    loss = bce
    if gamma != 0:
        loss = loss * one_minus_pt.clamp(min=tiny(x)).pow(gamma)
    if alpha is not None:
        loss = loss * (alpha * t + (1 - alpha) * (1 - t))
    return loss.to(pred.dtype)


def _class_alpha(alpha: Union[None, float, Sequence[float], Tensor],
                 labels: Tensor, num_logits: int, dtype) -> Optional[Tensor]:
    """Per-sample ``alpha_y``: a float is ``alpha`` for the foreground classes and
    ``1 - alpha`` for background (the last logit); a sequence gives one weight per
    logit."""
    if alpha is None:
        return None
    if isinstance(alpha, (int, float)):
        fg = torch.full((num_logits, ), float(alpha), dtype=dtype,
                        device=labels.device)
        fg[-1] = 1 - float(alpha)
        table = fg
    else:
        table = torch.as_tensor(alpha, dtype=dtype, device=labels.device)
        if table.shape != (num_logits, ):
            raise ValueError(
                f'alpha as a sequence must have one weight per logit, '
                f'({num_logits},) for pred of {num_logits} channels, '
                f'got shape {tuple(table.shape)}')
    return table[labels]


def softmax_focal_loss(pred: Tensor,
                       labels: Tensor,
                       gamma: float = 2.0,
                       alpha: Union[None, float, Sequence[float]] = 0.25,
                       activated: bool = False,
                       ignore_index: Optional[int] = DEFAULT_IGNORE_INDEX
                       ) -> Tensor:
    r"""Softmax Focal Loss over ``C + 1`` logits (the multi-class extension that Lin et
    al. 2017, Sec. 3, call straightforward).

    .. math:: FL = -\alpha_y (1 - p_y)^{\gamma} \log p_y, \quad
              p = \mathrm{softmax}(x)

    Args:
        pred: ``(N, C + 1)`` logits, the last one background (probabilities if
            ``activated``).
        labels: ``(N,)`` integer labels in ``[0, C]``.
        gamma: focusing parameter, ``>= 0``; 0 gives (alpha-weighted) cross-entropy.
        alpha: ``None`` (no weighting); a float: ``alpha`` for the foreground classes
            and ``1 - alpha`` for background, as the sigmoid form weighs positives and
            negatives; or ``C + 1`` per-class weights.
        activated: ``pred`` already holds probabilities.
        ignore_index: label whose samples get loss 0.

    Returns:
        ``(N,)`` loss in ``pred``'s dtype.
    """
    x = upcast(pred)
    valid = labels != ignore_index if ignore_index is not None else None
    safe_labels = labels if valid is None else labels.masked_fill(~valid, 0)
    safe_labels = safe_labels.long()
    if valid is not None:  # ignored rows: 0 to value and gradient, whatever x holds
        x = torch.where(valid[:, None], x, x.new_full((), 1.0 / x.shape[1] if activated
                                                       else 0.0))
    if activated:
        log_p = x.clamp(min=tiny(x)).log()
    else:
        log_p = F.log_softmax(x, dim=1)
    log_py = log_p.gather(1, safe_labels[:, None]).squeeze(1)
    loss = -log_py
    if gamma != 0:
        one_minus_py = -torch.expm1(log_py)  # 1 - p_y, exact as p_y -> 1
        loss = loss * one_minus_py.clamp(min=tiny(x)).pow(gamma)
    alpha_y = _class_alpha(alpha, safe_labels, x.shape[1], x.dtype)
    if alpha_y is not None:
        loss = loss * alpha_y
    if valid is not None:
        loss = loss * valid
    return loss.to(pred.dtype)
