"""What a one-pass kernel with the fused IoU kernels' memory traffic costs, by the
amount of arithmetic per box pair, against the floor of ``bench_regression.py``.

Each variant is one compiled function that reads ``pred`` and ``target`` ``(N, 4)``
once, computes per pair a value with ``k`` divisions (and optionally one ``atan``),
and writes an ``(N, 4)`` gradient-like tensor and the sum: the traffic of
:func:`mmdet_losses.functional.fused.iou.iou_family_sum`'s forward, with a chosen
amount of work. The floor is ``(pred - target).sum()`` forward and backward through
autograd. The variants take turns ``--repeat`` times after ``--warmup`` rounds, and
the load average (``os.getloadavg``) is printed before and after.

Reading it: where a variant's ratio to the floor passes 1, the pass stops being
memory-bound; a fused kernel with as many divisions and transcendentals per pair as
a loss's gradient needs costs at least that variant's time.

Usage::

    python benchmarks/bench_pass_cost.py [--n 1000000] [--repeat 21] [--warmup 3]
        [--threads 2]
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict

import torch
from torch import Tensor


def floor_pass(pred: Tensor, target: Tensor) -> Tensor:
    pred = pred.detach().requires_grad_()
    (pred - target).sum().backward()
    return pred.grad


def one_pass(divisions: int, atan: bool = False) -> Callable:
    """A compiled ``(pred, target) -> (sum, (N, 4))`` pass with ``divisions``
    dependent divisions per pair and, if ``atan``, one ``atan``."""

    def body(pred: Tensor, target: Tensor):
        a = pred[:, 2] - pred[:, 0]
        b = pred[:, 3] - target[:, 1]
        c = target[:, 2] + pred[:, 1]
        value = a + b
        for i in range(divisions):
            value = value / (c + (1.0 + 1e-3 * i))
        if atan:
            value = value + torch.atan(a / (b + 1e-6))
        grad = torch.stack([value, value * a, value * b, value * c], dim=1)
        return value.sum(), grad

    return torch.compile(body, dynamic=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=1_000_000, help='box pairs')
    parser.add_argument('--repeat', type=int, default=21)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    pred = torch.rand(args.n, 4, generator=generator) + 0.5
    target = torch.rand(args.n, 4, generator=generator) + 0.5

    variants: Dict[str, Callable] = {'floor (autograd fwd+bwd)': floor_pass}
    for k in (0, 4, 8, 12):
        variants[f'one pass, {k} divisions'] = one_pass(k)
    variants['one pass, 8 divisions + atan'] = one_pass(8, atan=True)
    for fn in variants.values():
        for _ in range(args.warmup):
            fn(pred, target)

    times = {name: [] for name in variants}
    print(f'# N={args.n:,} pairs, {args.threads} threads, torch {torch.__version__}, '
          f'load average before: {os.getloadavg()}')
    for _ in range(args.repeat):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn(pred, target)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times['floor (autograd fwd+bwd)'])
    print('| variant | ms (median) | / floor | min-max ms |\n|---|---|---|---|')
    for name, values in times.items():
        median = statistics.median(values)
        print(f'| {name} | {1e3 * median:.2f} | {median / floor:.2f} | '
              f'{1e3 * min(values):.2f}-{1e3 * max(values):.2f} |')
    print(f'Load average after: {os.getloadavg()}')


if __name__ == '__main__':
    main()
