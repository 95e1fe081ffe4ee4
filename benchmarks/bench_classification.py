"""Forward + backward time and peak memory of the sigmoid category losses.

Compares, in one process and on the same RetinaNet-like batch (``--n`` anchors x
``--c`` classes, about 1% positives, integer labels with ``C`` = background, IoU
quality scores of the positives, per-anchor label weights and ``avg_factor``):

* ours: ``FocalLoss``, ``CrossEntropyLoss(use_sigmoid=True)``, ``QualityFocalLoss``,
  ``VarifocalLoss`` and ``MatchabilityAwareLoss`` through the fused kernels, compiled
  and eager, and the plain-autograd references (element-wise loss +
  ``weight_reduce_loss``);
* MMDetection: ``FocalLoss`` (on the CPU its ``py_sigmoid_focal_loss`` path, on CUDA
  mmcv's ``sigmoid_focal_loss`` op), ``CrossEntropyLoss(use_sigmoid=True)``,
  ``QualityFocalLoss`` (with the ``(labels, scores)`` target its GFL head passes) and
  ``VarifocalLoss`` (with the dense ``(N, C)`` target its VFNet head passes); no
  framework ships MAL, so its reference is the plain autograd form (the module's
  path before the fused kernel);
* a floor: one element-wise pass, ``(x * 1.0001).sum()``, forward and backward.

``--losses`` chooses the groups (default ``focal bce qfl vfl mal``).

Time is the median of ``--repeat`` runs after ``--warmup`` runs, the cases timed
in interleaved rounds so that a change of machine load affects them alike. Peak memory is the
highest amount allocated during one forward + backward above what was allocated
before it (the gradient of ``pred`` included): on CUDA from
``torch.cuda.max_memory_allocated``, on the CPU from the allocation events of
``torch.profiler`` (``profile_memory=True``).

Usage::

    python benchmarks/bench_classification.py [--n 200000] [--c 80] [--device cpu]
        [--threads 2] [--repeat 10] [--warmup 3] [--losses focal bce qfl vfl mal]
        [--profile]
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

# The profiler's own log lines (USDT ... profiler_start) are not results.
os.environ.setdefault('KINETO_LOG_LEVEL', '6')

import torch

import mmdet_losses.functional as functional
from mmdet_losses import (CrossEntropyLoss, FocalLoss, MatchabilityAwareLoss,
                          QualityFocalLoss, VarifocalLoss)
from mmdet_losses.functional.category.focal import sigmoid_focal_loss
from mmdet_losses.functional.category.labels import binary_targets
from mmdet_losses.functional.category.quality import (matchability_aware_loss,
                                                     quality_focal_loss, varifocal_loss)
from mmdet_losses.functional.fused.quality import matchability_aware_loss_sum
from mmdet_losses.functional.reduction import weight_reduce_loss

# Targets the issue sets on the CPU.
TARGET_SPEEDUP_VS_MMDET = 8.0
TARGET_TIME_VS_FLOOR = 1.5
TARGET_MEMORY_VS_MMDET = 0.3
# QFL and VFL (issue targets): >= 5x faster than mmdet's, peak memory <= 0.3x.
TARGET_QUALITY_SPEEDUP = 5.0
GROUPS = ('focal', 'bce', 'qfl', 'vfl', 'mal')


def make_batch(n: int, c: int, device: str, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    pred = 2 * torch.randn(n, c, generator=gen)
    labels = torch.full((n, ), c, dtype=torch.long)          # background
    positive = torch.rand(n, generator=gen) < 0.01
    labels[positive] = torch.randint(0, c, (int(positive.sum()), ), generator=gen)
    weight = (torch.rand(n, generator=gen) > 0.05).float()   # 5% ignored anchors
    avg_factor = float(positive.sum())
    scores = torch.rand(n, generator=gen) * positive      # IoU of the positives
    return (pred.to(device), labels.to(device), weight.to(device), avg_factor,
            scores.to(device))


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def fwd_bwd(loss_fn: Callable, pred: torch.Tensor, *args) -> None:
    pred.grad = None
    loss_fn(pred, *args).backward()


def time_cases(cases: Dict[str, Callable], pred, args, device, warmup,
               repeat) -> Dict[str, float]:
    """Median fwd+bwd seconds per case. The cases are timed in interleaved rounds
    (each round runs every case once), so that a change in machine load during
    the run affects all cases alike and the ratios stay fair."""
    for loss_fn in cases.values():
        for _ in range(warmup):
            fwd_bwd(loss_fn, pred, *args)
    sync(device)
    times = {name: [] for name in cases}
    for _ in range(repeat):
        for name, loss_fn in cases.items():
            start = time.perf_counter()
            fwd_bwd(loss_fn, pred, *args)
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cpu_peak_bytes(loss_fn, pred, args) -> Optional[int]:
    """Peak of the running sum of CPU allocations during one forward + backward."""
    from torch.profiler import ProfilerActivity, profile
    pred.grad = None
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fwd_bwd(loss_fn, pred, *args)
    try:
        events = prof.profiler.kineto_results.events()
    except AttributeError:
        return None
    allocations = sorted((e.start_ns(), e.nbytes()) for e in events
                         if e.name() == '[memory]'
                         and e.device_type() == torch.autograd.DeviceType.CPU)
    running = peak = 0
    for _, nbytes in allocations:
        running += nbytes
        peak = max(peak, running)
    return peak


def cuda_peak_bytes(loss_fn, pred, args) -> int:
    pred.grad = None
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fwd_bwd(loss_fn, pred, *args)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def with_compile(mode, loss: Callable) -> Callable:
    """Run ``loss`` with compilation switched to ``mode`` (restored afterwards)."""
    def run(*args):
        previous = functional.get_compile()
        functional.set_compile(mode)
        try:
            return loss(*args)
        finally:
            functional.set_compile(previous)
    return run


def plain_reference(gamma, alpha):
    """The module's non-fused path: one-hot targets, element-wise loss, reduction."""
    def run(pred, labels, weight, avg_factor, scores):
        target = binary_targets(labels, pred.shape[1])
        loss = sigmoid_focal_loss(pred, target, gamma, alpha)
        return weight_reduce_loss(loss, weight[:, None], 'mean', avg_factor)
    return run


def plain_quality(kind):
    """Plain autograd QFL (summed over classes), VFL or MAL on the dense target."""
    def run(pred, labels, weight, avg_factor, scores):
        target = binary_targets(labels, pred.shape[1]) * scores[:, None]
        if kind == 'qfl':
            loss = quality_focal_loss(pred, target).sum(-1)
            return weight_reduce_loss(loss, weight, 'mean', avg_factor)
        if kind == 'mal':
            positive = binary_targets(labels, pred.shape[1], torch.bool)
            loss = matchability_aware_loss(pred, target, positive=positive)
        else:
            loss = varifocal_loss(pred, target)
        return weight_reduce_loss(loss, weight[:, None], 'mean', avg_factor)
    return run


def floor(pred, labels, weight, avg_factor, scores):
    return (pred * 1.0001).sum()


def build_cases(device: str, groups=GROUPS) -> List[Tuple[str, str, Callable]]:
    """(name, group, fn(pred, labels, weight, avg_factor, scores))."""
    import mmdet.models.losses as mmdet_losses
    focal, bce = FocalLoss(gamma=2.0, alpha=0.25), CrossEntropyLoss(use_sigmoid=True)
    mmdet_focal = mmdet_losses.FocalLoss(gamma=2.0, alpha=0.25)
    mmdet_bce = mmdet_losses.CrossEntropyLoss(use_sigmoid=True)
    call = lambda m: (lambda p, y, w, a, s: m(p, y, w, avg_factor=a))  # noqa: E731
    cases = [
        ('ours FocalLoss fused compiled', 'focal', with_compile(True, call(focal))),
        ('ours FocalLoss fused eager', 'focal', with_compile(False, call(focal))),
        ('ours focal plain autograd', 'focal', plain_reference(2.0, 0.25)),
        ('mmdet FocalLoss' + (' (mmcv CUDA op)' if device.startswith('cuda')
                              else ' (CPU py path)'), 'focal', call(mmdet_focal)),
    ]
    if device.startswith('cuda'):
        from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss

        def mmdet_py(p, y, w, a, s):
            t = torch.nn.functional.one_hot(y, p.shape[1] + 1)[:, :p.shape[1]]
            return py_sigmoid_focal_loss(p, t, w, 2.0, 0.25, 'mean', a)
        cases.append(('mmdet py_sigmoid_focal_loss', 'focal', mmdet_py))
    cases += [
        ('ours BCE fused compiled', 'bce', with_compile(True, call(bce))),
        ('ours BCE fused eager', 'bce', with_compile(False, call(bce))),
        ('ours BCE plain autograd', 'bce', plain_reference(0.0, None)),
        ('mmdet CrossEntropyLoss(sigmoid)', 'bce', call(mmdet_bce)),
    ]
    qfl, vfl = QualityFocalLoss(), VarifocalLoss()
    mmdet_qfl, mmdet_vfl = mmdet_losses.QualityFocalLoss(), mmdet_losses.VarifocalLoss()
    tuple_call = lambda m: (  # noqa: E731
        lambda p, y, w, a, s: m(p, (y, s), w, avg_factor=a))

    def dense_call(m):
        def run(p, y, w, a, s):
            target = binary_targets(y, p.shape[1]) * s[:, None]
            return m(p, target, w[:, None].expand_as(p), avg_factor=a)
        return run
    cases += [
        ('ours QFL fused compiled', 'qfl', with_compile(True, tuple_call(qfl))),
        ('ours QFL fused eager', 'qfl', with_compile(False, tuple_call(qfl))),
        ('ours QFL plain autograd', 'qfl', plain_quality('qfl')),
        ('mmdet QualityFocalLoss', 'qfl', tuple_call(mmdet_qfl)),
        ('ours VFL fused compiled', 'vfl', with_compile(True, tuple_call(vfl))),
        ('ours VFL fused eager', 'vfl', with_compile(False, tuple_call(vfl))),
        ('ours VFL dense fused compiled', 'vfl', with_compile(True, dense_call(vfl))),
        ('ours VFL plain autograd', 'vfl', plain_quality('vfl')),
        ('mmdet VarifocalLoss (dense)', 'vfl', dense_call(mmdet_vfl)),
    ]
    mal = MatchabilityAwareLoss()

    def mal_kernel(p, y, w, a, s):
        return matchability_aware_loss_sum(p, y, w[:, None], scores=s) / a
    cases += [
        ('ours MAL fused compiled', 'mal', with_compile(True, tuple_call(mal))),
        # the module takes the plain path without a compiler: time the kernel
        ('ours MAL fused eager', 'mal', with_compile(False, mal_kernel)),
        ('ours MAL plain autograd', 'mal', plain_quality('mal')),
    ]
    return [case for case in cases if case[1] in groups] + [
        ('floor (x * 1.0001).sum()', 'floor', floor)]


def profile_case(name, loss_fn, pred, args, rows=12) -> None:
    from torch.profiler import ProfilerActivity, profile
    fwd_bwd(loss_fn, pred, *args)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fwd_bwd(loss_fn, pred, *args)
    print(f'\n--- profile: {name}')
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows))


def main(argv=None) -> Dict[str, Tuple[float, Optional[int]]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=200_000)
    parser.add_argument('--c', type=int, default=80)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads on the CPU (default 2)')
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--losses', nargs='+', default=list(GROUPS), choices=GROUPS,
                        help='which loss groups to time')
    parser.add_argument('--profile', action='store_true',
                        help='print a per-operator profile of our focal paths')
    args = parser.parse_args(argv)
    on_cuda = args.device.startswith('cuda')
    if not on_cuda:
        torch.set_num_threads(args.threads)
    pred, labels, weight, avg_factor, scores = make_batch(args.n, args.c, args.device)
    pred.requires_grad_()
    batch = (labels, weight, avg_factor, scores)

    load = f' load={os.getloadavg()[0]:.1f}' if hasattr(os, 'getloadavg') else ''
    print(f'bench_classification: N={args.n} C={args.c} device={args.device} '
          f'threads={torch.get_num_threads()} torch={torch.__version__} '
          f'repeat={args.repeat} warmup={args.warmup}{load}')
    cases = {name: fn for name, _, fn in build_cases(args.device, args.losses)}
    first_call, peaks = {}, {}
    for name, fn in cases.items():
        start = time.perf_counter()
        fwd_bwd(fn, pred, *batch)        # compiles, if it is a compiled case
        first_call[name] = time.perf_counter() - start
        peaks[name] = cuda_peak_bytes(fn, pred, batch) if on_cuda else \
            cpu_peak_bytes(fn, pred, batch)
    seconds = time_cases(cases, pred, batch, args.device, args.warmup, args.repeat)
    print(f'{"case":38s} {"fwd+bwd ms":>11s} {"peak MiB":>9s}')
    results = {}
    for name in cases:
        results[name] = (seconds[name], peaks[name])
        peak_text = 'n/a' if peaks[name] is None else f'{peaks[name] / 2**20:.1f}'
        note = f'  (first call {first_call[name]:.1f} s)' \
            if first_call[name] > 5 * seconds[name] + 1 else ''
        print(f'{name:38s} {seconds[name] * 1e3:11.1f} {peak_text:>9s}{note}')

    def ratio_lines(ours: str, theirs: str) -> None:
        t_ours, m_ours = results[ours]
        t_theirs, m_theirs = results[theirs]
        t_floor = results['floor (x * 1.0001).sum()'][0]
        mem = 'n/a' if None in (m_ours, m_theirs) else f'{m_ours / m_theirs:.2f}x'
        print(f'{ours:32s}: {t_theirs / t_ours:5.1f}x faster than {theirs}; '
              f'{t_ours / t_floor:.2f}x the floor; memory {mem} of mmdet')

    print('\nratios (speed-up = mmdet time / ours; floor ratio = ours / floor)')
    mmdet_focal = next((k for k in results if k.startswith('mmdet FocalLoss')), None)
    comparisons = {
        'focal': (mmdet_focal, ('ours FocalLoss fused compiled',
                                'ours FocalLoss fused eager', 'ours focal plain autograd')),
        'bce': ('mmdet CrossEntropyLoss(sigmoid)', ('ours BCE fused compiled',
                                                    'ours BCE fused eager',
                                                    'ours BCE plain autograd')),
        'qfl': ('mmdet QualityFocalLoss', ('ours QFL fused compiled',
                                           'ours QFL fused eager',
                                           'ours QFL plain autograd')),
        'vfl': ('mmdet VarifocalLoss (dense)', ('ours VFL fused compiled',
                                                'ours VFL fused eager',
                                                'ours VFL dense fused compiled',
                                                'ours VFL plain autograd')),
    }
    if 'mal' in args.losses:
        t_plain = results['ours MAL plain autograd'][0]
        m_plain = results['ours MAL plain autograd'][1]
        t_floor = results['floor (x * 1.0001).sum()'][0]
        for ours in ('ours MAL fused compiled', 'ours MAL fused eager'):
            t_ours, m_ours = results[ours]
            mem = 'n/a' if None in (m_ours, m_plain) else f'{m_ours / m_plain:.2f}x'
            print(f'{ours:32s}: {t_plain / t_ours:5.1f}x faster than the plain '
                  f'autograd MAL; {t_ours / t_floor:.2f}x the floor; memory {mem} '
                  'of the plain form')
    for group in args.losses:
        if group not in comparisons:
            continue
        theirs, mine = comparisons[group]
        for ours in mine:
            ratio_lines(ours, theirs)

    if not on_cuda:
        t_floor = results['floor (x * 1.0001).sum()'][0]
        targets = {'focal': (mmdet_focal, 'ours FocalLoss fused compiled',
                             TARGET_SPEEDUP_VS_MMDET, TARGET_TIME_VS_FLOOR),
                   'qfl': ('mmdet QualityFocalLoss', 'ours QFL fused compiled',
                           TARGET_QUALITY_SPEEDUP, None),
                   'vfl': ('mmdet VarifocalLoss (dense)', 'ours VFL fused compiled',
                           TARGET_QUALITY_SPEEDUP, None)}
        for group in args.losses:
            if group not in targets:
                continue
            theirs, ours, speedup, floor_ratio = targets[group]
            t_ours, m_ours = results[ours]
            t_mmdet, m_mmdet = results[theirs]
            checks = [(f'>= {speedup:g}x faster than {theirs}',
                       t_mmdet / t_ours >= speedup, f'{t_mmdet / t_ours:.1f}x')]
            if floor_ratio is not None:
                checks.append((f'within {floor_ratio:g}x of the floor',
                               t_ours / t_floor <= floor_ratio,
                               f'{t_ours / t_floor:.2f}x'))
            if m_ours is not None and m_mmdet is not None:
                checks.append((f'peak memory <= {TARGET_MEMORY_VS_MMDET:g}x mmdet',
                               m_ours / m_mmdet <= TARGET_MEMORY_VS_MMDET,
                               f'{m_ours / m_mmdet:.2f}x'))
            print(f'\nCPU targets (ours = {ours}):')
            for text, met, value in checks:
                print(f'  {"met   " if met else "MISSED"} {text}: {value}')

    if args.profile:
        for name in ('ours FocalLoss fused compiled', 'ours FocalLoss fused eager',
                     'ours QFL fused compiled', 'floor (x * 1.0001).sum()'):
            if name in cases:
                profile_case(name, cases[name], pred, batch)
    return results


if __name__ == '__main__':
    main()
