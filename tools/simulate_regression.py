"""The bounding-box regression simulation of Zheng et al. (DIoU/CIoU, AAAI 2020,
arXiv 1911.08287, Sec. "Simulation Experiment", Algorithm 1), run with this package's
own functional losses and autograd.

Set-up (the paper's): 5000 anchor centres uniform in a disc of radius 3 around
(10, 10); 7 targets centred at (10, 10), area 1, aspect ratios 1:4 ... 4:1; at each
centre anchors of 7 scales (0.5 ... 2 times the target area) x the same 7 aspect
ratios: 5000 x 7 x 7 x 7 = 1,715,000 regression cases. Each case's box
``B = (x, y, w, h)`` takes 200 gradient steps

    B_t = B_{t-1} - eta (2 - IoU(B_{t-1})) dL/dB_{t-1}

with ``eta`` 0.1 (steps 1-160), 0.01 (161-180), 0.001 (181-200). The error of a case
is the l1 distance of ``(x, y, w, h)`` to its target; the curves sum it over cases.
Cases are independent, so one ``loss.sum().backward()`` gives every case the gradient
of its own loss. The gradients are autograd's, exact; the paper's were hand-written
and differ (docs/simulation.md), which is why DIoU does not beat GIoU here.

Usage::

    python tools/simulate_regression.py       # full size: ~6 min on 2 busy cores
    python tools/simulate_regression.py --points 100 --losses iou giou diou ciou
"""
import argparse
import math
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import Tensor

from mmdet_losses.functional import (aligned_box_terms, ciou_loss, diou_loss,
                                     eiou_loss, get_compile, giou_loss, iou_loss,
                                     set_compile, siou_loss, wiou_loss)
from mmdet_losses.functional.compile import maybe_compiled
from mmdet_losses.functional.fused.iou import fused_kernel_for, iou_family_sum

# name -> (label, loss(pred_xyxy, target_xyxy) -> (N,) loss)
LOSSES: Dict[str, Tuple[str, Callable[[Tensor, Tensor], Tensor]]] = {
    'iou': ('IoU', partial(iou_loss, mode='linear')),
    'giou': ('GIoU', giou_loss),
    'diou': ('DIoU', diou_loss),
    'ciou': ('CIoU', ciou_loss),
    'ciou-gated': ('CIoU (alpha = 0 below IoU 0.5)',
                   partial(ciou_loss, aspect_iou_threshold=0.5)),
    'eiou': ('EIoU', eiou_loss),
    'siou': ('SIoU', siou_loss),
    'wiou': ('WIoU v1', wiou_loss),
}
DEFAULT_LOSSES = ('iou', 'giou', 'diou', 'ciou', 'eiou', 'siou')
# Eager CPU time per loss relative to IoU (measured), to hand out the costliest first.
RELATIVE_COST = {'iou': 1.0, 'giou': 1.6, 'diou': 1.7, 'wiou': 1.7, 'ciou': 1.9,
                 'ciou-gated': 1.9, 'eiou': 2.1, 'siou': 2.5}
ASPECT_RATIOS = (1 / 4, 1 / 3, 1 / 2, 1.0, 2.0, 3.0, 4.0)  # w / h
SCALES = (0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0)  # anchor area / target area
CENTRE = (10.0, 10.0)
RADIUS = 3.0
CASES_PER_POINT = len(ASPECT_RATIOS) * len(SCALES) * len(ASPECT_RATIOS)
# Cases regressed together; small enough for the temporaries to stay in cache,
# large enough for the per-step Python overhead not to matter.
DEFAULT_CHUNK = 1 << 15


def step_sizes(steps: int = 200) -> List[float]:
    """The paper's schedule: 0.1 for the first 80% of the steps, 0.01 for the next
    10%, 0.001 for the rest (160/20/20 of 200)."""
    first, second = round(0.8 * steps), round(0.9 * steps)
    return [0.1 if k < first else 0.01 if k < second else 0.001
            for k in range(steps)]


def make_cases(points: int, seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    """Anchor centres ``(P, 2)``, anchors and targets ``(P * 343, 4)`` as
    ``(x, y, w, h)`` in float32, case index = point * 343 + (target aspect, scale,
    anchor aspect) as in the authors' ``test_1715k.m``."""
    gen = torch.Generator().manual_seed(seed)
    radius = RADIUS * torch.rand(points, generator=gen, dtype=torch.float64).sqrt()
    angle = 2 * math.pi * torch.rand(points, generator=gen, dtype=torch.float64)
    centres = torch.stack([CENTRE[0] + radius * angle.cos(),
                           CENTRE[1] + radius * angle.sin()], dim=1)

    ratios = torch.tensor(ASPECT_RATIOS, dtype=torch.float64)
    scales = torch.tensor(SCALES, dtype=torch.float64)
    # (target aspect, scale, anchor aspect), target area 1
    t_ratio = ratios[:, None, None].expand(7, 7, 7).reshape(-1)
    area = scales[None, :, None].expand(7, 7, 7).reshape(-1)
    a_ratio = ratios[None, None, :].expand(7, 7, 7).reshape(-1)
    target_wh = torch.stack([t_ratio.sqrt(), 1 / t_ratio.sqrt()], dim=1)
    anchor_wh = torch.stack([(area * a_ratio).sqrt(), (area / a_ratio).sqrt()], dim=1)

    anchors = torch.cat([centres.repeat_interleave(CASES_PER_POINT, 0),
                         anchor_wh.repeat(points, 1)], dim=1)
    targets = torch.cat([torch.tensor(CENTRE, dtype=torch.float64).expand(
        points * CASES_PER_POINT, 2), target_wh.repeat(points, 1)], dim=1)
    return centres.float(), anchors.float(), targets.float()


def xywh_to_xyxy(box: Tensor) -> Tensor:
    centre, half = box[:, :2], box[:, 2:] / 2
    return torch.cat([centre - half, centre + half], dim=1)


def _boxes_and_iou(box: Tensor, target_xyxy: Tensor) -> Tuple[Tensor, Tensor]:
    pred_xyxy = xywh_to_xyxy(box)
    return pred_xyxy, aligned_box_terms(pred_xyxy.detach(), target_xyxy).iou


def make_objective(loss_fn: Callable[[Tensor, Tensor], Tensor]) -> Callable:
    """``(box (N, 4) xywh, target (N, 4) x1y1x2y2) -> (summed loss, IoU (N,))``,
    run through ``torch.compile`` as the package's compile mode says
    (:mod:`mmdet_losses.functional.compile`). A loss with a fused kernel
    (:mod:`mmdet_losses.functional.fused.iou`) is summed by it where it runs
    compiled: the same values and gradients, without the element-wise autograd
    graph."""
    fn, kwargs = (loss_fn.func, loss_fn.keywords) if isinstance(loss_fn, partial) \
        else (loss_fn, {})
    kernel = fused_kernel_for(fn, kwargs)
    if kernel is not None:
        boxes_and_iou = maybe_compiled(_boxes_and_iou)

        def fused_objective(box: Tensor, target_xyxy: Tensor
                            ) -> Tuple[Tensor, Tensor]:
            pred_xyxy, iou = boxes_and_iou(box, target_xyxy)
            return iou_family_sum(kernel, pred_xyxy, target_xyxy, **kwargs), iou

        return fused_objective

    def objective(box: Tensor, target_xyxy: Tensor) -> Tuple[Tensor, Tensor]:
        pred_xyxy = xywh_to_xyxy(box)
        iou = aligned_box_terms(pred_xyxy.detach(), target_xyxy).iou
        return loss_fn(pred_xyxy, target_xyxy).sum(), iou

    return maybe_compiled(objective)


def regress(objective: Callable, anchors: Tensor, targets: Tensor,
            etas: Sequence[float]) -> Tuple[Tensor, Tensor]:
    """Algorithm 1 on one batch of cases, ``objective`` from :func:`make_objective`.

    Returns the error summed over the cases after each step, ``(steps + 1,)``
    float64 (entry 0: the anchors), and each case's final error ``(N,)``.
    """
    box = anchors.clone().requires_grad_(True)
    target_xyxy = xywh_to_xyxy(targets)
    curve = torch.empty(len(etas) + 1, dtype=torch.float64)
    curve[0] = (anchors - targets).abs().sum(dtype=torch.float64)
    for k, eta in enumerate(etas, start=1):
        loss, iou = objective(box, target_xyxy)
        loss.backward()
        with torch.no_grad():
            box -= eta * (2 - iou)[:, None] * box.grad
            box.grad = None
            curve[k] = (box - targets).abs().sum(dtype=torch.float64)
    return curve, (box.detach() - targets).abs().sum(1)


@dataclass
class SimulationResult:
    centres: Tensor  # (P, 2)
    initial_iou: Tensor  # (P * 343,)
    curves: Dict[str, Tensor] = field(default_factory=dict)  # (steps + 1,)
    final_errors: Dict[str, Tensor] = field(default_factory=dict)  # (P * 343,)
    cpu_seconds: Dict[str, float] = field(default_factory=dict)

    def point_errors(self, name: str) -> Tensor:
        """Final error summed over each anchor centre's 343 cases, ``(P,)``."""
        return self.final_errors[name].view(-1, CASES_PER_POINT).sum(1)


def _regress_loss(task) -> Tuple[str, Tensor, Tensor, float]:
    """All cases for one loss, chunk by chunk (a worker's job)."""
    name, points, seed, steps, chunk, single_thread = task
    if single_thread:
        torch.set_num_threads(1)
    start = time.process_time()
    _, anchors, targets = make_cases(points, seed)
    objective = make_objective(LOSSES[name][1])
    etas = step_sizes(steps)
    curves, finals = [], []
    for begin in range(0, len(anchors), chunk):
        curve, final = regress(objective, anchors[begin:begin + chunk],
                               targets[begin:begin + chunk], etas)
        curves.append(curve)
        finals.append(final)
    return (name, torch.stack(curves).sum(0), torch.cat(finals),
            time.process_time() - start)


def simulate(points: int = 5000, steps: int = 200,
             losses: Sequence[str] = DEFAULT_LOSSES, seed: int = 0,
             chunk: int = DEFAULT_CHUNK, workers: int = 1,
             verbose: bool = False) -> SimulationResult:
    """Run the simulation for each loss in ``losses`` (keys of :data:`LOSSES`).

    ``workers > 1`` runs the losses in that many forked processes of one thread
    each, the costliest first: on a busy machine, processes share the cores far
    better than one process's OpenMP threads, which wait for each other at every
    operation; and each process compiles each of its losses once. The result does
    not depend on ``chunk`` or ``workers`` (to the rounding of the float64 sums).
    """
    unknown = [name for name in losses if name not in LOSSES]
    if unknown:
        raise ValueError(f'losses must be among {sorted(LOSSES)}, got {unknown}')
    centres, anchors, targets = make_cases(points, seed)
    result = SimulationResult(centres, aligned_box_terms(
        xywh_to_xyxy(anchors), xywh_to_xyxy(targets)).iou)
    workers = min(workers, len(losses))
    if 'fork' not in multiprocessing.get_all_start_methods():
        workers = 1  # the workers inherit the compile mode and tools/ by forking
    order = sorted(losses, key=lambda name: -RELATIVE_COST.get(name, 1.0))
    tasks = [(name, points, seed, steps, chunk, workers > 1) for name in order]
    pool = None
    if workers > 1:
        pool = multiprocessing.get_context('fork').Pool(workers)
        outputs = pool.imap_unordered(_regress_loss, tasks)
    else:
        outputs = map(_regress_loss, tasks)
    try:
        for name, curve, final, seconds in outputs:
            result.curves[name] = curve
            result.final_errors[name] = final
            result.cpu_seconds[name] = seconds
            if verbose:
                print(f'{LOSSES[name][0]:>8}: final error {curve[-1]:.4g} '
                      f'({seconds:.0f} CPU s)', flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    for table in (result.curves, result.final_errors, result.cpu_seconds):
        ordered = {name: table[name] for name in losses}
        table.clear()
        table.update(ordered)
    return result


def markdown_table(result: SimulationResult) -> str:
    """Final error (sum over cases) per loss, with the error part-way, the mean
    and median final error of a case and the share of cases regressed to within
    0.01 (the sum is dominated by the few cases that have not converged)."""
    steps = len(next(iter(result.curves.values()))) - 1
    marks = [k for k in (10, 40, 80, 160) if k < steps]
    cases = len(result.initial_iou)
    header = (['loss'] + [f'error @ {k}' for k in marks] +
              [f'final error @ {steps}', 'mean per case', 'median per case',
               'cases < 0.01', 'CPU time (s)'])
    rows = ['| ' + ' | '.join(header) + ' |',
            '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
    for name, curve in result.curves.items():
        final = result.final_errors[name]
        cells = ([LOSSES[name][0]] + [f'{curve[k]:.4g}' for k in marks] +
                 [f'{curve[-1]:.4g}', f'{curve[-1] / cases:.4f}',
                  f'{float(final.median()):.4f}',
                  f'{100 * (final < 0.01).double().mean():.1f}%',
                  f'{result.cpu_seconds[name]:.0f}'])
        rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)


def plot_curves(result: SimulationResult, path: str) -> None:
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, curve in result.curves.items():
        for ax in axes:
            ax.plot(curve.numpy(), label=LOSSES[name][0], linewidth=1.6)
    axes[1].set_yscale('log')
    steps = len(next(iter(result.curves.values()))) - 1
    etas = step_sizes(steps)
    changes = [k for k in range(1, steps) if etas[k] != etas[k - 1]]
    for ax, scale in zip(axes, ('linear', 'log')):
        for k in changes:  # step k + 1 is the first with the smaller step size
            ax.axvline(k, color='0.6', linestyle=':', linewidth=1)
        ax.set_xlabel('iteration (dotted: step size / 10)')
        ax.set_ylabel(f'total l1 error of (x, y, w, h) ({scale} scale)')
        ax.grid(alpha=0.3)
    axes[0].legend()
    cases = len(result.initial_iou)
    fig.suptitle(f'Regression error summed over {cases:,} cases '
                 '(Zheng et al., Algorithm 1)')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_maps(result: SimulationResult, path: str) -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm
    names = list(result.final_errors)
    errors = {name: result.point_errors(name).clamp(min=1e-3) for name in names}
    vmax = max(float(e.max()) for e in errors.values())
    vmin = max(min(float(e.min()) for e in errors.values()), vmax * 1e-5)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols + 1.2, 3.0 * rows),
                             squeeze=False, layout='constrained')
    xy = result.centres.numpy()
    for ax, name in zip(axes.flat, names):
        # hexagonal bins (the mean of the centres in each) read like the
        # scatter of the centres but keep the PNG small
        image = ax.hexbin(xy[:, 0], xy[:, 1], C=errors[name].numpy(),
                          reduce_C_function=np.mean, gridsize=36,
                          extent=(7, 13, 7, 13), norm=LogNorm(vmin, vmax),
                          cmap='viridis', linewidths=0.1)
        ax.set_title(f'{LOSSES[name][0]}: total {float(errors[name].sum()):.3g}',
                     fontsize=10)
        ax.set_aspect('equal')
        ax.set_xticks([7, 10, 13])
        ax.set_yticks([7, 10, 13])
    for ax in list(axes.flat)[len(names):]:
        ax.axis('off')
    fig.colorbar(image, ax=axes, shrink=0.8,
                 label=f'final error, sum over an anchor centre\'s '
                 f'{CASES_PER_POINT} cases')
    fig.suptitle('Final error at each anchor centre (targets at (10, 10))')
    fig.savefig(path, dpi=72)
    plt.close(fig)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--points', type=int, default=5000,
                        help='anchor centres (paper: 5000, 343 cases each)')
    parser.add_argument('--steps', type=int, default=200,
                        help='gradient steps (paper: 200)')
    parser.add_argument('--losses', nargs='+', default=list(DEFAULT_LOSSES),
                        choices=sorted(LOSSES))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--chunk', type=int, default=DEFAULT_CHUNK,
                        help='cases regressed together')
    parser.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1),
                        help='processes (one thread each); 1: in this process')
    parser.add_argument('--compile', choices=('auto', 'on', 'off'), default='auto',
                        help='torch.compile each loss step (about 20 s per loss, '
                        'then ~3x faster); auto: from 100,000 cases on, where a '
                        'compiler is available, unless MMDET_LOSSES_COMPILE=0')
    parser.add_argument('--out', default='docs/figures',
                        help='folder for the PNGs and the markdown table')
    parser.add_argument('--prefix', default='simulation',
                        help='file name prefix of the outputs')
    parser.add_argument('--save', metavar='PATH',
                        help='also save the results (torch.save) to PATH')
    parser.add_argument('--load', metavar='PATH',
                        help='skip the simulation: tabulate and plot saved results')
    return parser.parse_args(argv)


def main(argv=None) -> SimulationResult:
    args = parse_args(argv)
    for option in ('points', 'steps', 'chunk', 'workers'):
        if getattr(args, option) < 1:
            raise ValueError(f'--{option} must be >= 1, got '
                             f'{getattr(args, option)}')
    import matplotlib
    matplotlib.use('Agg')
    os.makedirs(args.out, exist_ok=True)
    if args.load:
        result = SimulationResult(**torch.load(args.load))
    else:
        previous_mode = get_compile()
        compile_mode = args.compile
        if compile_mode == 'auto' and (previous_mode == 'off' or
                                       args.points * CASES_PER_POINT < 100_000):
            compile_mode = 'off'
        set_compile({'on': True, 'off': False}.get(compile_mode, 'auto'))
        start = time.perf_counter()
        try:
            result = simulate(args.points, args.steps, args.losses, args.seed,
                              args.chunk, args.workers, verbose=True)
        finally:
            set_compile({'on': True, 'off': False}.get(previous_mode, 'auto'))
        print(f'wall time {time.perf_counter() - start:.0f} s with '
              f'{args.workers} worker(s), compile {compile_mode}')
    if args.save:
        torch.save(vars(result), args.save)
    table = markdown_table(result)
    print(table)
    with open(os.path.join(args.out, f'{args.prefix}_table.md'), 'w') as f:
        f.write(table + '\n')
    plot_curves(result, os.path.join(args.out, f'{args.prefix}_error_curves.png'))
    plot_maps(result, os.path.join(args.out, f'{args.prefix}_final_error_maps.png'))
    return result


if __name__ == '__main__':
    main()
