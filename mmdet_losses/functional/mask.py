"""The mask heads' convention (MMDetection's ``CrossEntropyLoss(use_mask=True)``): a
mask head predicts one ``H x W`` map of logits per class for every RoI, and only the
map of the RoI's own label is trained, with binary cross-entropy against the RoI's
mask target.
"""
from typing import Optional

import torch
from torch import Tensor

from .category import check_labels


def select_label_maps(pred: Tensor, labels: Optional[Tensor],
                      check: bool = True) -> Tensor:
    """Each RoI's map for its own label: ``pred[i, labels[i]]``.

    Args:
        pred: ``(N, C, *)`` per-class logits of ``N`` RoIs (``(N, 1, *)`` for a
            class-agnostic head; ``*`` is ``H, W`` for masks, ``P`` for points).
        labels: ``(N,)`` integer labels in ``[0, C - 1]`` (zeros for a class-agnostic
            head).
        check: run the label-range check (one host synchronisation).

    Returns:
        ``(N, *)`` logits; the gradient flows back to the selected maps only.
    """
    if labels is None or not isinstance(labels, Tensor) or labels.is_floating_point():
        got = type(labels).__name__ if not isinstance(labels, Tensor) else \
            f'{labels.dtype} {tuple(labels.shape)}'
        raise TypeError('a mask loss (use_mask=True) takes the RoIs\' labels as its '
                        'third argument, an integer tensor of shape (N,), as '
                        f'MMDetection\'s mask heads pass them; got {got}')
    if pred.dim() < 2 or labels.shape != pred.shape[:1]:
        raise ValueError('a mask loss (use_mask=True) takes pred of shape (N, C, *) and '
                         f'labels of shape (N,), got {tuple(pred.shape)} and '
                         f'{tuple(labels.shape)}')
    if check:
        check_labels(labels, pred.shape[1] - 1, name='labels (use_mask=True)')
    rois = torch.arange(pred.shape[0], device=pred.device)
    return pred[rois, labels.long()]
