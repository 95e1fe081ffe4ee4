"""Figures of the quality-aware category losses and GHM-C, computed with this package's
own functional losses (the pages ``docs/losses/{qfl,vfl,dfl,ghmc}.md``).

* ``qfl.png``: Quality Focal Loss against ``sigma`` for soft targets ``y`` in 0, 0.5,
  0.9 (left: it vanishes at ``sigma = y``), and the sigmoid focal loss on the same
  soft targets (right: it does not; MMDetection's form).
* ``vfl.png``: Varifocal Loss of a positive with target ``q`` in 0.3, 0.6, 0.9 and of
  a negative (``q = 0``), against ``p``; the negative focal loss (``alpha = 0.25``)
  for comparison.
* ``dfl.png``: the distribution a GFL head predicts for one box side and the DFL of
  that distribution as the target moves across the bins.
* ``ghmc.png``: gradient norms ``g`` of a simulated dense-head batch and the GHM-C
  weight of each bin (10 and 30 bins).
* ``<page>.png`` of any other category loss (its spec's page; ``cross_entropy`` and
  ``focal`` are ``tools/plot_loss_curves.py``'s): the loss of one score against the
  predicted probability, for each of its presets, as a positive and as a negative
  (an IoU-quality loss: positives of several targets ``q``).

Usage::

    python tools/plot_category_curves.py [--out work_dirs/loss_curves] [--only NAME ...]

The docs' figures: ``--out docs/figures`` (written to ``docs/figures/losses/``).
"""
import argparse
import os
from functools import partial
from typing import Callable, Dict, Sequence

import torch

from mmdet_losses.functional import (distribution_focal_loss, ghm_edges, ghm_weights,
                                     quality_focal_loss, sigmoid_focal_loss,
                                     varifocal_loss)
from mmdet_losses.spec import CLASS_SCORES, DISTRIBUTIONS

QFL_TARGETS = (0.0, 0.5, 0.9)
VFL_TARGETS = (0.3, 0.6, 0.9)
DFL_LOGITS = (-2.0, 0.5, 2.0, 1.0, -1.0, -3.0, -3.0, -3.0)
SIZE = (9.6, 3.6)
DPI = 70


def logit(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p) - torch.log1p(-p)


def qfl_curves(p: torch.Tensor) -> Dict[str, Dict[float, torch.Tensor]]:
    """QFL (beta 2) and sigmoid focal (gamma 2, no alpha) for each soft target."""
    x = logit(p)[:, None]
    curves = {'qfl': {}, 'focal': {}}
    for y in QFL_TARGETS:
        target = torch.full_like(x, y)
        curves['qfl'][y] = quality_focal_loss(x, target, beta=2.0)[:, 0]
        curves['focal'][y] = sigmoid_focal_loss(x, target, gamma=2.0, alpha=None)[:, 0]
    return curves


def vfl_curves(p: torch.Tensor) -> Dict[str, torch.Tensor]:
    """VFL (alpha 0.75, gamma 2) of positives and of a negative; focal negative."""
    x = logit(p)[:, None]
    curves = {f'positive, q = {q:g}': varifocal_loss(x, torch.full_like(x, q))[:, 0]
              for q in VFL_TARGETS}
    zero = torch.zeros_like(x)
    curves['negative (q = 0)'] = varifocal_loss(x, zero)[:, 0]
    curves['focal negative (alpha 0.25)'] = sigmoid_focal_loss(x, zero)[:, 0]
    return curves


def dfl_curve(targets: torch.Tensor) -> torch.Tensor:
    """DFL of the fixed distribution ``softmax(DFL_LOGITS)`` at each target."""
    logits = torch.tensor(DFL_LOGITS, dtype=targets.dtype).expand(len(targets), -1)
    return distribution_focal_loss(logits, targets)


def ghm_population(n: int = 100_000, seed: int = 0) -> torch.Tensor:
    """Gradient norms of a dense-head batch: mostly easy negatives, a few hard ones
    and outliers."""
    gen = torch.Generator().manual_seed(seed)
    easy = torch.rand(int(0.95 * n), generator=gen, dtype=torch.float64) ** 6 * 0.3
    medium = torch.rand(int(0.04 * n), generator=gen, dtype=torch.float64)
    outliers = 1 - torch.rand(n - len(easy) - len(medium), generator=gen,
                              dtype=torch.float64) * 0.05
    return torch.cat([easy, medium, outliers])


def ghm_bin_weights(g: torch.Tensor, bins: int):
    """Bin centres and the GHM-C weight of an element in each bin (0: empty)."""
    edges = ghm_edges(bins).double()
    weights, _, _ = ghm_weights(g, torch.ones_like(g, dtype=torch.bool), edges)
    index = (torch.bucketize(g, edges, right=True) - 1).clamp(max=bins - 1)
    per_bin = torch.zeros(bins, dtype=torch.float64).scatter_reduce(
        0, index, weights, reduce='amax')
    return (torch.arange(bins, dtype=torch.float64) + 0.5) / bins, per_bin


def _save(fig, path: str) -> None:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_qfl(path: str) -> None:
    import matplotlib.pyplot as plt
    p = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
    curves = qfl_curves(p)
    fig, axes = plt.subplots(1, 2, figsize=SIZE, sharey=True)
    for ax, key, title in ((axes[0], 'qfl', 'QFL |y - sigma|^2 BCE: 0 at sigma = y'),
                           (axes[1], 'focal', 'focal q^2 BCE on soft targets')):
        for y, values in curves[key].items():
            ax.plot(p.numpy(), values.numpy(), label=f'y = {y:g}', linewidth=1.8)
            ax.axvline(y, color='0.8', linewidth=0.8)
        ax.set_xlabel('predicted score sigma')
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel('loss')
    axes[0].set_ylim(0, 2)
    fig.suptitle('Quality Focal Loss against the focal loss, soft targets y')
    _save(fig, path)


def plot_vfl(path: str) -> None:
    import matplotlib.pyplot as plt
    p = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, values in vfl_curves(p).items():
        ax.plot(p.numpy(), values.numpy(), '--' if 'focal' in label else '-',
                label=label, linewidth=1.8)
    ax.set_xlabel('predicted score p')
    ax.set_ylabel('loss')
    ax.set_ylim(0, 2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title('Varifocal Loss (alpha 0.75, gamma 2): positives weighted by q')
    _save(fig, path)


def plot_dfl(path: str) -> None:
    import matplotlib.pyplot as plt
    bins = len(DFL_LOGITS)
    y = torch.linspace(0, bins - 1, 701, dtype=torch.float64)
    probabilities = torch.tensor(DFL_LOGITS, dtype=torch.float64).softmax(0)
    expectation = float((probabilities * torch.arange(bins)).sum())
    fig, axes = plt.subplots(1, 2, figsize=SIZE)
    axes[0].bar(range(bins), probabilities.numpy(), color='C0')
    axes[0].axvline(expectation, color='C3', label=f'expectation {expectation:.2f}')
    axes[0].set_xlabel('bin (distance in strides)')
    axes[0].set_ylabel('predicted probability S_i')
    axes[0].legend(fontsize=8)
    axes[0].set_title('one box side as a distribution', fontsize=10)
    axes[1].plot(y.numpy(), dfl_curve(y).numpy(), color='C1', linewidth=1.8)
    axes[1].axvline(expectation, color='C3', linewidth=0.8)
    axes[1].set_xlabel('target distance y')
    axes[1].set_ylabel('DFL')
    axes[1].set_title('DFL: linear between bins, -log S_i at bin i', fontsize=10)
    axes[1].grid(alpha=0.3)
    fig.suptitle('Distribution Focal Loss (GFL)')
    _save(fig, path)


def plot_ghmc(path: str) -> None:
    import matplotlib.pyplot as plt
    g = ghm_population()
    fig, axes = plt.subplots(1, 2, figsize=SIZE)
    axes[0].hist(g.numpy(), bins=30, color='C0', log=True)
    axes[0].set_xlabel('gradient norm g = |p - t|')
    axes[0].set_ylabel('examples (log scale)')
    axes[0].set_title('a dense-head batch: easy examples and outliers', fontsize=10)
    for bins in (10, 30):
        centres, weights = ghm_bin_weights(g, bins)
        axes[1].step(centres.numpy(), weights.numpy(), where='mid',
                     label=f'{bins} bins')
    axes[1].set_yscale('log')
    axes[1].set_xlabel('gradient norm g')
    axes[1].set_ylabel('GHM-C weight N / (n R_j)')
    axes[1].set_title('weights: inverse density, down-weighting both ends',
                      fontsize=10)
    axes[1].grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    _save(fig, path)


def spec_curves(page: str, p: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The loss of the category loss whose page is ``page`` for one score of
    probability ``p``: each of its presets (its defaults if it has none) with target
    1 and 0 (labels), or ``q`` in ``VFL_TARGETS`` and 0 (IoU-quality targets); a
    softmax preset scores two logits ``[logit(p), 0]`` with label 0 or 1 (background)."""
    from mmdet_losses import MODELS
    from mmdet_losses.losses import SPECS
    from mmdet_losses.spec import IOU_QUALITY, LABELS
    spec = next(s for s in SPECS.values() if s.page == page)
    if spec.targets not in (LABELS, IOU_QUALITY):
        raise ValueError(f'{spec.loss} takes {spec.targets}: give it a figure of its '
                         'own in tools/plot_category_curves.py')
    targets = (1.0, 0.0) if spec.targets == LABELS else (*VFL_TARGETS, 0.0)
    configs = {preset.name: spec.config(preset) for preset in spec.presets} or \
        {spec.loss: dict(type=spec.type)}
    x = logit(p)
    curves = {}
    for label, config in configs.items():
        loss = MODELS.build(dict(config, reduction='none')).eval()
        for t in targets:
            if config.get('use_sigmoid', True) is False:
                value = loss(torch.stack([x, torch.zeros_like(x)], 1),
                             torch.full((len(p), ), 0 if t else 1))
            else:
                value = loss(x[:, None], torch.full_like(x[:, None], t))
            curves[f'{label}, target {t:g}'] = value.detach().reshape(len(p))
    return curves


def plot_spec(page: str, path: str) -> None:
    import matplotlib.pyplot as plt
    p = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, values in spec_curves(page, p).items():
        ax.plot(p.numpy(), values.numpy(), label=label, linewidth=1.8)
    ax.set_xlabel('predicted probability p')
    ax.set_ylabel('loss')
    ax.set_ylim(0, 3)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f'{page}: one score against its target')
    _save(fig, path)


HAND_MADE = {'qfl': plot_qfl, 'vfl': plot_vfl, 'dfl': plot_dfl, 'ghmc': plot_ghmc}
# the category pages whose figures tools/plot_loss_curves.py draws
DRAWN_ELSEWHERE = ('cross_entropy', 'focal')


def plotters() -> Dict[str, Callable[[str], None]]:
    """The figure of every category, quality and distribution loss's page: the
    hand-made ones, and one from the spec of every other."""
    from mmdet_losses.losses import SPECS
    pages = [spec.page for spec in SPECS.values() if spec.compares in
             (CLASS_SCORES, DISTRIBUTIONS) and spec.page not in DRAWN_ELSEWHERE]
    return {page: HAND_MADE.get(page, partial(plot_spec, page)) for page in pages}


def main(argv: Sequence[str] = None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='work_dirs/loss_curves',
                        help="output folder (the docs' figures: --out docs/figures)")
    figures = plotters()
    parser.add_argument('--only', nargs='+', metavar='NAME', choices=list(figures))
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    paths = {}
    for name in args.only or figures:
        path = os.path.join(args.out, 'losses', f'{name}.png')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        figures[name](path)
        paths[name] = path
        print(f'wrote {path} ({os.path.getsize(path) / 1024:.0f} KB)')
    return paths


if __name__ == '__main__':
    main()
