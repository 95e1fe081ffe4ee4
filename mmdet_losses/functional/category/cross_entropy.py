"""Binary and softmax cross-entropy, element-wise, in log space (conventions as
:mod:`.focal`: ``C`` sigmoid logits with background label ``C``, or ``C + 1`` softmax
logits, the last one background).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..dtypes import upcast
from ..validation import check_number
from .focal import sigmoid_focal_loss
from .labels import DEFAULT_IGNORE_INDEX

__all__ = ['binary_cross_entropy', 'softmax_cross_entropy']


def binary_cross_entropy(pred: Tensor, target: Tensor,
                         activated: bool = False) -> Tensor:
    r"""Binary cross-entropy with logits, element-wise.

    .. math:: BCE = -t \log \sigma(x) - (1 - t) \log (1 - \sigma(x))

    Args:
        pred: ``(N, C)`` logits (probabilities if ``activated``).
        target: ``(N, C)`` targets in ``[0, 1]``.
        activated: ``pred`` already holds probabilities.

    Returns:
        ``(N, C)`` loss in ``pred``'s dtype.
    """
    return sigmoid_focal_loss(pred, target, gamma=0.0, alpha=None,
                              activated=activated)


def softmax_cross_entropy(pred: Tensor,
                          labels: Tensor,
                          class_weight: Optional[Tensor] = None,
                          ignore_index: Optional[int] = DEFAULT_IGNORE_INDEX,
                          label_smoothing: float = 0.0) -> Tensor:
    r"""Softmax cross-entropy over ``C + 1`` logits, element-wise.

    .. math:: CE = -w_y \log \mathrm{softmax}(x)_y

    Args:
        pred: ``(N, C + 1)`` logits, the last one background.
        labels: ``(N,)`` integer labels in ``[0, C]``.
        class_weight: optional ``(C + 1,)`` per-class weights ``w``.
        ignore_index: label whose samples get loss 0.
        label_smoothing: in ``[0, 1)``, as in ``torch.nn.functional.cross_entropy``.

    Returns:
        ``(N,)`` loss in ``pred``'s dtype.
    """
    check_number('label_smoothing', label_smoothing, 0.0, 1.0, high_open=True)
    x = upcast(pred)
    if class_weight is not None:
        class_weight = class_weight.to(x)
    ignore = DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
    valid = labels != ignore
    # ignored rows: 0 to value and gradient, whatever x holds (NaN * 0 is NaN)
    x = torch.where(valid[:, None], x, x.new_zeros(()))
    loss = F.cross_entropy(
        x, labels.long(), weight=class_weight, reduction='none',
        ignore_index=ignore, label_smoothing=label_smoothing)
    return loss.to(pred.dtype)
