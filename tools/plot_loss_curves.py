"""Loss curves computed with this package's own functional losses.

* ``focal_loss_curves.png``: Figure 1 of the Focal Loss paper (Lin et al., arXiv
  1708.02002): loss against the probability of the ground-truth class ``p_t`` for
  ``gamma`` in 0, 0.5, 1, 2, 5 (``sigmoid_focal_loss`` with ``alpha=None``;
  ``gamma = 0`` is cross-entropy).
* ``location_loss_curves.png``: the location losses as a predicted box moves away
  from its target (horizontal shift) and as it changes shape (aspect ratio at equal
  area and centre). The target is a 10 x 10 px box, a tiny object, the size the NWD
  constant ``C = 12.8`` was chosen for; the coordinate losses (L1, L2, Smooth L1)
  act on the x1y1x2y2 coordinates in units of the target's size, summed over the 4
  coordinates.
* ``losses/<name>.png``, one per loss page of ``docs/losses/`` (``focal.md`` shows
  ``focal_loss_curves.png``):
  ``cross_entropy.png`` (binary and softmax cross-entropy against ``p_t``, and their
  gradient with respect to the ground-truth logit, ``p_t - 1``), and for each
  location loss (``LOSS_PAGES``) the two paths of ``location_loss_curves.png``, that
  loss in colour, the linear IoU loss and L1 as thin grey references
  (``iou_modifiers.png``: GIoU with Inner-IoU's and Focaler-IoU's modifiers). A box
  or coordinate loss without a page here gets one from its spec: each of its
  presets (:func:`spec_page`).

Usage::

    python tools/plot_loss_curves.py [--out docs/figures] [--only NAME [NAME ...]]

``--only`` writes only the named figures: ``focal``, ``location``,
``cross_entropy`` or a key of ``LOSS_PAGES`` (``l1``, ``giou``, ...).
"""
import argparse
import os
from functools import partial
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmdet_losses.functional import (asl1_loss, balanced_l1_loss,
                                     binary_cross_entropy, ciou_loss, diou_loss,
                                     eiou_loss, giou_loss, iou_loss, l1_loss, l2_loss,
                                     mpdiou_loss, nwd_loss, piou_loss, shape_iou_loss,
                                     sigmoid_focal_loss, siou_loss, smooth_l1_loss,
                                     softmax_cross_entropy, wiou_loss)

FOCAL_GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)
TARGET_SIZE = 10.0
NWD_CONSTANT = 12.8
# The running mean of the IoU loss that WIoU v2's and v3's curves are drawn with.
WIOU_V3_MEAN = 0.5
# MPDIoU's image sizes: one close to the 10 px target's scale, COCO's input size.
MPDIOU_SMALL_IMAGE = (64.0, 64.0)
MPDIOU_COCO_IMAGE = (1333.0, 800.0)
# Focaler-IoU's interval on the modifiers' page (wide enough to see on the paths).
FOCALER_RANGE = (0.2, 0.8)
# The per-loss figures: 1 x 2 panels, small enough for a page (~50 KB).
PER_LOSS_DPI = 70
PER_LOSS_SIZE = (9.6, 3.6)

LossFn = Callable[[Tensor, Tensor], Tensor]

# label -> (N, 4) x1y1x2y2 pred, target -> (N,) loss
IOU_FAMILY: Dict[str, LossFn] = {
    'IoU': partial(iou_loss, mode='linear'),
    'GIoU': giou_loss,
    'DIoU': diou_loss,
    'CIoU': ciou_loss,
    'CIoU, IoU >= 0.5 gate': partial(ciou_loss, aspect_iou_threshold=0.5),
    'EIoU': eiou_loss,
    'SIoU': siou_loss,
    'WIoU v1': wiou_loss,
}


def _coordinate_loss(loss_fn: LossFn, pred: Tensor, target: Tensor) -> Tensor:
    return loss_fn(pred / TARGET_SIZE, target / TARGET_SIZE).sum(1)


OTHERS: Dict[str, LossFn] = {
    f'NWD (C = {NWD_CONSTANT})': partial(nwd_loss, constant=NWD_CONSTANT),
    'L1': partial(_coordinate_loss, l1_loss),
    'Smooth L1 (beta = 1)': partial(_coordinate_loss, smooth_l1_loss),
}

# The thin grey curves on every location loss's own figure: label -> (loss, style);
# a page that shows one of these losses itself does not draw it again.
REFERENCES: Dict[str, Tuple[LossFn, str]] = {'IoU': (IOU_FAMILY['IoU'], '-'),
                                             'L1': (OTHERS['L1'], ':')}


class LossPage(NamedTuple):
    """The figure of a location loss's page: its curves, and where the y axis ends
    (``None``: a little above the highest of them)."""
    title: str
    curves: Dict[str, LossFn]
    y_max: Optional[float] = None


LOSS_PAGES: Dict[str, LossPage] = {
    'l1': LossPage('L1 loss', {'L1': OTHERS['L1']}),
    'l2': LossPage('L2 loss', {'L2': partial(_coordinate_loss, l2_loss)}),
    'smooth_l1': LossPage('Smooth L1 loss', {
        'Smooth L1 (beta = 1)': OTHERS['Smooth L1 (beta = 1)'],
        'Smooth L1 (beta = 0.11)': partial(_coordinate_loss,
                                           partial(smooth_l1_loss, beta=0.11))}),
    # -ln IoU is 13.8 (-ln eps) for disjoint boxes: the axis stops well below
    'iou': LossPage('IoU loss', {'IoU (log)': partial(iou_loss, mode='log'),
                                 'IoU (linear)': IOU_FAMILY['IoU']}, y_max=3.0),
    'giou': LossPage('GIoU loss', {'GIoU': IOU_FAMILY['GIoU']}),
    'diou': LossPage('DIoU loss', {'DIoU': IOU_FAMILY['DIoU']}),
    'ciou': LossPage('CIoU loss', {
        'CIoU': IOU_FAMILY['CIoU'],
        'CIoU, IoU >= 0.5 gate': IOU_FAMILY['CIoU, IoU >= 0.5 gate']}),
    'eiou': LossPage('EIoU loss', {
        'EIoU': IOU_FAMILY['EIoU'],
        'Focal-EIoU (gamma = 0.5)': partial(eiou_loss, focal_gamma=0.5)}),
    'siou': LossPage('SIoU loss', {'SIoU': IOU_FAMILY['SIoU']}),
    'wiou': LossPage('WIoU loss', {
        'WIoU v1': IOU_FAMILY['WIoU v1'],
        f'WIoU v3 (running mean {WIOU_V3_MEAN:g})': partial(
            wiou_loss, iou_loss_mean=torch.tensor(WIOU_V3_MEAN, dtype=torch.float64)),
        f'WIoU v2 (running mean {WIOU_V3_MEAN:g})': partial(
            wiou_loss, iou_loss_mean=torch.tensor(WIOU_V3_MEAN, dtype=torch.float64),
            focus_gamma=0.5)}),
    'nwd': LossPage('NWD loss', {f'NWD (C = {NWD_CONSTANT})':
                                 OTHERS[f'NWD (C = {NWD_CONSTANT})']}),
    'mpdiou': LossPage('MPDIoU loss', {
        'MPDIoU, image 64 x 64': partial(mpdiou_loss, image_size=MPDIOU_SMALL_IMAGE),
        'MPDIoU, image 1333 x 800': partial(mpdiou_loss,
                                            image_size=MPDIOU_COCO_IMAGE)}),
    'shape_iou': LossPage('Shape-IoU loss', {
        'Shape-IoU (scale 0)': shape_iou_loss,
        'Shape-IoU (scale 0, theta 2)': partial(shape_iou_loss, theta=2.0)}),
    'piou': LossPage('Powerful-IoU loss', {
        'PIoU v1': piou_loss,
        'PIoU v2 (lambda = 1.3)': partial(piou_loss, version='v2')}),
    'iou_modifiers': LossPage('Inner-GIoU and Focaler-GIoU', {
        'GIoU': IOU_FAMILY['GIoU'],
        'Inner-GIoU (ratio 0.7)': partial(giou_loss, inner_ratio=0.7),
        'Inner-GIoU (ratio 1.3)': partial(giou_loss, inner_ratio=1.3),
        f'Focaler-GIoU {FOCALER_RANGE}': partial(giou_loss,
                                                 focaler_range=FOCALER_RANGE)}),
    'balanced_l1': LossPage('Balanced L1 loss', {
        'Balanced L1 (beta = 1)': partial(_coordinate_loss, balanced_l1_loss),
        'Balanced L1 (beta = 0.11)': partial(_coordinate_loss,
                                             partial(balanced_l1_loss, beta=0.11))}),
    # GHM-R's weights depend on the batch; for one box alone they are 1 on these
    # paths (two bins of two coordinates each, or one of four), leaving the ASL1
    'ghmr': LossPage('GHM-R (one box per batch: ASL1, mu = 0.02)', {
        'GHM-R = ASL1 (mu = 0.02)': partial(_coordinate_loss, asl1_loss)}),
}


def _registered(config: dict) -> LossFn:
    """The registered loss of ``config``, element-wise (``'none'``), evaluation mode."""
    from mmdet_losses import MODELS
    module = MODELS.build(dict(config, reduction='none')).eval()
    return lambda pred, target: module(pred, target)


def spec_page(name: str) -> LossPage:
    """The page of a box or coordinate loss that has no page above: each of its
    presets (its class's defaults if it has none), coordinate losses on the
    coordinates in units of the target's size."""
    from mmdet_losses.losses import SPECS
    from mmdet_losses.spec import BOXES
    spec = next(s for s in SPECS.values() if s.page == name)
    configs = {preset.name: spec.config(preset) for preset in spec.presets} or \
        {spec.loss: dict(type=spec.type)}
    curves = {label: _registered(config) if spec.compares == BOXES else
              partial(_coordinate_loss, _registered(config))
              for label, config in configs.items()}
    return LossPage(spec.loss, curves)


def spec_pages() -> Dict[str, LossPage]:
    """``LOSS_PAGES`` and a page from the spec of every box or coordinate loss
    without one there."""
    from mmdet_losses.losses import SPECS
    from mmdet_losses.spec import BOXES, REGRESSION_TARGETS
    pages = dict(LOSS_PAGES)
    for spec in SPECS.values():
        if spec.compares in (BOXES, REGRESSION_TARGETS) and spec.page not in pages:
            pages[spec.page] = spec_page(spec.page)
    return pages


def _logit(p: Tensor) -> Tensor:
    return torch.log(p) - torch.log1p(-p)


def focal_curve(p_t: Tensor, gamma: float) -> Tensor:
    """Focal loss of a sample whose ground-truth class has probability ``p_t``,
    with ``alpha=None``: ``-(1 - p_t)^gamma log p_t``, via ``sigmoid_focal_loss``
    on the logit of ``p_t`` with target 1."""
    logits = _logit(p_t.double())
    return sigmoid_focal_loss(logits[:, None], torch.ones_like(logits)[:, None],
                              gamma=gamma, alpha=None)[:, 0]


def cross_entropy_curves(p_t: Tensor) -> Dict[str, Tuple[Tensor, Tensor]]:
    """Loss and its gradient with respect to the ground-truth logit of a sample whose
    ground-truth class has probability ``p_t`` in ``(0, 1)``: ``binary_cross_entropy``
    on the logit of ``p_t`` with target 1, and ``softmax_cross_entropy`` over 3 logits
    (label 0; the other two share ``1 - p_t``). Both are ``-log p_t`` with gradient
    ``p_t - 1``."""
    p_t = p_t.double()
    logit = _logit(p_t).requires_grad_()
    bce = binary_cross_entropy(logit[:, None], torch.ones_like(p_t)[:, None])[:, 0]
    bce_grad, = torch.autograd.grad(bce.sum(), logit)
    other = torch.log((1 - p_t) / 2)
    logits = torch.stack([torch.log(p_t), other, other], dim=1).requires_grad_()
    ce = softmax_cross_entropy(logits, torch.zeros_like(p_t, dtype=torch.long))
    ce_grad, = torch.autograd.grad(ce.sum(), logits)
    return {'binary (sigmoid)': (bce.detach(), bce_grad),
            'softmax, C + 1 = 3 logits': (ce.detach(), ce_grad[:, 0])}


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
    return {label: fn(pred, target).detach() for label, fn in losses.items()}


class BoxPath(NamedTuple):
    """Pred and target boxes along one path of the location figures."""
    x: Tensor
    pred: Tensor
    target: Tensor
    xlabel: str
    title: str
    log_x: bool


def box_paths() -> Tuple[BoxPath, BoxPath]:
    """The shift and the aspect-ratio path, shared by every location figure."""
    shifts = torch.linspace(0, 3 * TARGET_SIZE, 601, dtype=torch.float64)
    ratios = torch.logspace(-3, 3, 601, base=2, dtype=torch.float64)
    return (BoxPath(shifts, *shift_boxes(shifts), 'horizontal shift (px)',
                    'shifted right (disjoint beyond 10 px)', False),
            BoxPath(ratios, *aspect_boxes(ratios), 'aspect ratio w / h (log scale)',
                    'reshaped at equal centre and area', True))


def _finish_axes(ax, path: BoxPath, title: str, legend_size: float) -> None:
    if path.log_x:
        ax.set_xscale('log', base=2)
    ax.set_xlabel(path.xlabel)
    ax.set_ylabel('loss')
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)


def _p_t_axes(ax, ylabel: str) -> None:
    """Axes over the probability of the ground-truth class, the well-classified
    examples shaded."""
    ax.axvspan(0.6, 1.0, color='0.9')
    ax.set_xlim(0, 1)
    ax.set_xlabel('probability of ground truth class, p_t')
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _save(fig, path: str, dpi: int) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    # a palette of 256 colours holds a line plot's pixels: a third of the size
    from PIL import Image
    with Image.open(path) as image:
        palette = image.convert('RGB').quantize(256)
    palette.save(path, optimize=True)
    import matplotlib.pyplot as plt
    plt.close(fig)


def plot_focal(path: str) -> None:
    import matplotlib.pyplot as plt
    p_t = torch.linspace(0.001, 1, 1000, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for gamma in FOCAL_GAMMAS:
        label = f'gamma = {gamma:g}' + (' (cross-entropy)' if gamma == 0 else '')
        ax.plot(p_t.numpy(), focal_curve(p_t, gamma).numpy(), label=label,
                linewidth=1.8)
    _p_t_axes(ax, 'loss')
    ax.text(0.8, 1.5, 'well-classified\nexamples', ha='center')
    ax.set_ylim(0, 5)
    ax.set_title('Focal loss -(1 - p_t)^gamma log(p_t) (Lin et al., Fig. 1)')
    ax.legend()
    _save(fig, path, dpi=90)


def plot_cross_entropy(path: str) -> None:
    import matplotlib.pyplot as plt
    p_t = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
    curves = cross_entropy_curves(p_t)
    fig, axes = plt.subplots(1, 2, figsize=PER_LOSS_SIZE)
    for index, (label, (loss, grad)) in enumerate(curves.items()):
        style = dict(linestyle='--' if index else '-', linewidth=3.5 - 2 * index,
                     color=f'C{index}', label=label)
        axes[0].plot(p_t.numpy(), loss.numpy(), **style)
        axes[1].plot(p_t.numpy(), grad.numpy(), **style)
    for ax, ylabel, title in (
            (axes[0], 'loss', 'loss -log(p_t)'),
            (axes[1], 'd loss / d ground-truth logit',
             'gradient p_t - 1 (-0.1 at p_t = 0.9)')):
        _p_t_axes(ax, ylabel)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    axes[0].set_ylim(0, 5)
    axes[1].set_ylim(-1.05, 0.05)
    fig.suptitle('Cross-entropy against p_t (shaded: well-classified examples)')
    _save(fig, path, dpi=PER_LOSS_DPI)


def _plot_panel(ax, path: BoxPath, curves: Dict[str, Tensor], title: str) -> None:
    # Several losses coincide on these paths (DIoU = IoU at equal centres, ...):
    # the later a curve, the thinner its line, so that covered ones stay visible.
    for index, (label, values) in enumerate(curves.items()):
        style = '--' if 'gate' in label else '-'
        ax.plot(path.x.numpy(), values.numpy(), style, label=label,
                linewidth=max(4.5 - 0.5 * index, 1.0))
    _finish_axes(ax, path, title, legend_size=7.5)


def plot_location(path: str) -> None:
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for row, box_path in enumerate(box_paths()):
        for col, (losses, family) in enumerate(
                ((IOU_FAMILY, 'IoU family'), (OTHERS, 'NWD, L1, Smooth L1'))):
            curves = location_curves(box_path.pred, box_path.target, losses)
            _plot_panel(axes[row, col], box_path, curves,
                        f'{family}: {box_path.title}')
    fig.suptitle(f'Location losses against a {TARGET_SIZE:g} x {TARGET_SIZE:g} px '
                 'target (L1, Smooth L1 on coordinates / target size)')
    _save(fig, path, dpi=80)


def _plot_page_panel(ax, path: BoxPath, page: LossPage) -> None:
    curves = location_curves(path.pred, path.target, page.curves)
    for label, (loss_fn, style) in REFERENCES.items():
        if all(loss_fn is not fn for fn in page.curves.values()):
            values = loss_fn(path.pred, path.target).detach()
            ax.plot(path.x.numpy(), values.numpy(), style, color='0.5',
                    linewidth=1.2, label=f'{label} (reference)')
    for index, (label, values) in enumerate(curves.items()):
        ax.plot(path.x.numpy(), values.numpy(), '--' if index else '-',
                color=('C3', 'C0', 'C2', 'C1')[index],
                linewidth=max(2.5 - 0.7 * index, 1.0), label=label)
    top = page.y_max or 1.15 * max(float(v.max()) for v in curves.values())
    ax.set_ylim(0, top)
    _finish_axes(ax, path, path.title, legend_size=8)


def plot_loss_page(name: str, path: str) -> None:
    import matplotlib.pyplot as plt
    page = LOSS_PAGES[name] if name in LOSS_PAGES else spec_page(name)
    fig, axes = plt.subplots(1, 2, figsize=PER_LOSS_SIZE)
    for ax, box_path in zip(axes, box_paths()):
        _plot_page_panel(ax, box_path, page)
    fig.suptitle(f'{page.title} against a {TARGET_SIZE:g} x {TARGET_SIZE:g} px target '
                 '(coordinate losses in units of the target size)')
    _save(fig, path, dpi=PER_LOSS_DPI)


def figure_paths(out: str) -> Dict[str, str]:
    """Every figure this tool writes, by name."""
    paths = {'focal': os.path.join(out, 'focal_loss_curves.png'),
             'location': os.path.join(out, 'location_loss_curves.png')}
    for name in ('cross_entropy', *spec_pages()):
        paths[name] = os.path.join(out, 'losses', f'{name}.png')
    return paths


def main(argv: Sequence[str] = None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='work_dirs/loss_curves',
                        help='output folder (the docs\' figures: --out docs/figures)')
    names = list(figure_paths(''))
    parser.add_argument('--only', nargs='+', metavar='NAME', choices=names,
                        help=f"write only these figures ({', '.join(names)}; "
                        'default: all)')
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    paths = figure_paths(args.out)
    if args.only:
        paths = {name: paths[name] for name in args.only}
    plotters = {'focal': plot_focal, 'location': plot_location,
                'cross_entropy': plot_cross_entropy}
    for name, path in paths.items():
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        plotters.get(name, partial(plot_loss_page, name))(path)
        print(f'wrote {path} ({os.path.getsize(path) / 1024:.0f} KB)')
    return paths


if __name__ == '__main__':
    main()
