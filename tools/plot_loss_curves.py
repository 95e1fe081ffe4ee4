"""Loss curves computed with this package's own functional losses.

* ``focal_loss_curves.png``: Figure 1 of the Focal Loss paper (Lin et al., arXiv
  1708.02002): loss against the probability of the ground-truth class ``p_t`` for
  ``gamma`` in 0, 0.5, 1, 2, 5 (``sigmoid_focal_loss`` with ``alpha=None``;
  ``gamma = 0`` is cross-entropy).
* ``location_loss_curves.png``: the location losses as a predicted box moves away
  from its target (horizontal shift) and as it changes shape (aspect ratio at equal
  area and centre). The target is a 10 x 10 px box, a tiny object, the size the NWD
  constant ``C = 12.8`` was chosen for; L1 and Smooth L1 (``beta = 1``) act on the
  x1y1x2y2 coordinates in units of the target's size, summed over the 4 coordinates.

Usage::

    python tools/plot_loss_curves.py [--out docs/figures]
"""
import argparse
import os
from functools import partial
from typing import Callable, Dict, Sequence, Tuple

import torch
from torch import Tensor

from mmdet_losses.functional import (ciou_loss, diou_loss, eiou_loss, giou_loss,
                                     iou_loss, l1_loss, nwd_loss, siou_loss,
                                     sigmoid_focal_loss, smooth_l1_loss, wiou_loss)

FOCAL_GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)
TARGET_SIZE = 10.0
NWD_CONSTANT = 12.8

# label -> (N, 4) x1y1x2y2 pred, target -> (N,) loss
IOU_FAMILY: Dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    'IoU': partial(iou_loss, mode='linear'),
    'GIoU': giou_loss,
    'DIoU': diou_loss,
    'CIoU': ciou_loss,
    'CIoU, IoU >= 0.5 gate': partial(ciou_loss, aspect_iou_threshold=0.5),
    'EIoU': eiou_loss,
    'SIoU': siou_loss,
    'WIoU v1': wiou_loss,
}


def _coordinate_loss(loss_fn: Callable[[Tensor, Tensor], Tensor], pred: Tensor,
                     target: Tensor) -> Tensor:
    return loss_fn(pred / TARGET_SIZE, target / TARGET_SIZE).sum(1)


OTHERS: Dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    f'NWD (C = {NWD_CONSTANT})': partial(nwd_loss, constant=NWD_CONSTANT),
    'L1': partial(_coordinate_loss, l1_loss),
    'Smooth L1 (beta = 1)': partial(_coordinate_loss, smooth_l1_loss),
}


def focal_curve(p_t: Tensor, gamma: float) -> Tensor:
    """Focal loss of a sample whose ground-truth class has probability ``p_t``,
    with ``alpha=None``: ``-(1 - p_t)^gamma log p_t``, via ``sigmoid_focal_loss``
    on the logit of ``p_t`` with target 1."""
    p_t = p_t.double()
    logits = torch.log(p_t) - torch.log1p(-p_t)
    return sigmoid_focal_loss(logits[:, None], torch.ones_like(logits)[:, None],
                              gamma=gamma, alpha=None)[:, 0]


def boxes_from_xywh(x: Tensor, y: Tensor, w: Tensor, h: Tensor) -> Tensor:
    return torch.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], dim=1)


def shift_boxes(shifts: Tensor) -> Tuple[Tensor, Tensor]:
    """Pred boxes equal to the target moved right by ``shifts`` px, and targets."""
    zero, size = torch.zeros_like(shifts), torch.full_like(shifts, TARGET_SIZE)
    return (boxes_from_xywh(shifts, zero, size, size),
            boxes_from_xywh(zero, zero, size, size))


def aspect_boxes(ratios: Tensor) -> Tuple[Tensor, Tensor]:
    """Pred boxes of the target's centre and area with aspect ratio ``w / h``."""
    zero = torch.zeros_like(ratios)
    pred = boxes_from_xywh(zero, zero, TARGET_SIZE * ratios.sqrt(),
                           TARGET_SIZE / ratios.sqrt())
    size = torch.full_like(ratios, TARGET_SIZE)
    return pred, boxes_from_xywh(zero, zero, size, size)


def location_curves(pred: Tensor, target: Tensor,
                    losses: Dict[str, Callable]) -> Dict[str, Tensor]:
    return {label: fn(pred, target) for label, fn in losses.items()}


def plot_focal(path: str) -> None:
    import matplotlib.pyplot as plt
    p_t = torch.linspace(0.001, 1, 1000, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for gamma in FOCAL_GAMMAS:
        label = f'gamma = {gamma:g}' + (' (cross-entropy)' if gamma == 0 else '')
        ax.plot(p_t.numpy(), focal_curve(p_t, gamma).numpy(), label=label,
                linewidth=1.8)
    ax.axvspan(0.6, 1.0, color='0.9')
    ax.text(0.8, 1.5, 'well-classified\nexamples', ha='center')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 5)
    ax.set_xlabel('probability of ground truth class, p_t')
    ax.set_ylabel('loss')
    ax.set_title('Focal loss -(1 - p_t)^gamma log(p_t) (Lin et al., Fig. 1)')
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_panel(ax, x: Tensor, curves: Dict[str, Tensor], xlabel: str,
                title: str) -> None:
    # Several losses coincide on these paths (DIoU = IoU at equal centres, ...):
    # the later a curve, the thinner its line, so that covered ones stay visible.
    for index, (label, values) in enumerate(curves.items()):
        style = '--' if 'gate' in label else '-'
        ax.plot(x.numpy(), values.detach().numpy(), style, label=label,
                linewidth=max(4.5 - 0.5 * index, 1.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel('loss')
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5)


def plot_location(path: str) -> None:
    import matplotlib.pyplot as plt
    shifts = torch.linspace(0, 3 * TARGET_SIZE, 601, dtype=torch.float64)
    ratios = torch.logspace(-3, 3, 601, base=2, dtype=torch.float64)
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for row, (x, boxes, xlabel, what) in enumerate((
            (shifts, shift_boxes(shifts), 'horizontal shift (px)',
             'shifted right (disjoint beyond 10 px)'),
            (ratios, aspect_boxes(ratios), 'aspect ratio w / h (log scale)',
             'reshaped at equal centre and area'))):
        for col, (losses, family) in enumerate(
                ((IOU_FAMILY, 'IoU family'), (OTHERS, 'NWD, L1, Smooth L1'))):
            ax = axes[row, col]
            _plot_panel(ax, x, location_curves(*boxes, losses), xlabel,
                        f'{family}: {what}')
            if row == 1:
                ax.set_xscale('log', base=2)
    fig.suptitle(f'Location losses against a {TARGET_SIZE:g} x {TARGET_SIZE:g} px '
                 'target (L1, Smooth L1 on coordinates / target size)')
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: Sequence[str] = None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='docs/figures', help='output folder')
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    os.makedirs(args.out, exist_ok=True)
    paths = {'focal': os.path.join(args.out, 'focal_loss_curves.png'),
             'location': os.path.join(args.out, 'location_loss_curves.png')}
    plot_focal(paths['focal'])
    plot_location(paths['location'])
    for path in paths.values():
        print(f'wrote {path} ({os.path.getsize(path) / 1024:.0f} KB)')
    return paths


if __name__ == '__main__':
    main()
