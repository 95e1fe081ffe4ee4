"""Fused loss kernels on CUDA: forward+backward time and peak memory against the
plain autograd form (compiled and eager) and a memory-bound floor. Torch only (no
mmcv, no mmdet): it runs on a bare machine with a GPU and this checkout.

Cases (``--cases``, default all):

* ``iou``: every fused IoU-family kernel (:mod:`mmdet_losses.functional.fused.iou`)
  on ``(N, 4)`` float32 boxes with ``(N,)`` weights; plain: ``sum(w * loss)`` of
  the element-wise function; floor: ``(pred - target).sum()``, one read of the
  inputs and one write of the gradient.
* ``category``: the fused sigmoid focal loss and BCE on ``(N / 80, 80)`` logits with
  integer labels; plain: one-hot targets and ``sigmoid_focal_loss``; floor:
  ``(x * 1.0001).sum()``; the same for the fused Quality Focal, Varifocal and
  Matchability-Aware sums with the ``(labels, scores)`` target (plain: the dense
  target and ``quality_focal_loss`` / ``varifocal_loss`` /
  ``matchability_aware_loss``).

Time: CUDA events around each forward+backward, the median of ``--repeat`` rounds in
which the variants take turns (the first, compiling call is not timed). Memory: the
peak of ``torch.cuda.max_memory_allocated`` above what was allocated before the call.

Usage (about 3 minutes on one GPU, most of it compiling)::

    python benchmarks/gpu_losses.py [--n 1000000 10000000] [--cases iou category]
        [--repeat 20] [--out DIR]

``--device cpu --n 20000`` runs the same script on the CPU as a smoke test.
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict, List, NamedTuple, Tuple

import torch

from mmdet_losses.functional import (matchability_aware_loss,
                                     matchability_aware_loss_sum, one_hot,
                                     quality_focal_loss,
                                     quality_focal_loss_sum, set_compile,
                                     sigmoid_focal_loss, sigmoid_focal_loss_sum,
                                     varifocal_loss, varifocal_loss_sum)
from mmdet_losses.functional.compile import maybe_compiled
from mmdet_losses.functional.fused import iou as fused_iou


class Case(NamedTuple):
    """One loss: inputs ``make(n, device) -> (pred, *rest)``, and three
    ``(pred, *rest) -> scalar`` functions (``plain`` is run compiled and eager)."""
    family: str
    name: str
    make: Callable[[int, str], Tuple[torch.Tensor, ...]]
    fused: Callable
    plain: Callable
    floor: Callable


def make_boxes(n: int, device: str):
    """Targets of 8-400 px in a 1000 px image, predictions off by ~10%, weights."""
    generator = torch.Generator().manual_seed(0)
    corner = torch.rand(n, 2, generator=generator) * 600
    size = 8 + torch.rand(n, 2, generator=generator) * 392
    target = torch.cat([corner, corner + size], dim=1)
    pred = target + torch.randn(n, 4, generator=generator) * 0.1 * size.repeat(1, 2)
    weight = torch.rand(n, generator=generator)
    return (pred.to(device).requires_grad_(True), target.to(device),
            weight.to(device))


def iou_cases() -> List[Case]:
    cases = []
    for name, kernel in fused_iou.KERNELS.items():
        kwargs = dict(mode='linear') if name == 'iou' else {}

        def fused(pred, target, weight, name=name, kwargs=kwargs):
            return fused_iou.iou_family_sum(name, pred, target, weight, **kwargs)

        def plain(pred, target, weight, loss_fn=kernel.plain, kwargs=kwargs):
            return (loss_fn(pred, target, **kwargs) * weight).sum()

        cases.append(Case('iou', name, make_boxes, fused, maybe_compiled(plain),
                          lambda pred, target, weight: (pred - target).sum()))
    return cases


CLASSES = 80


def make_logits(n: int, device: str):
    """``n`` logits as ``(n / 80, 80)``, 1% positive anchors, 5% ignored."""
    generator = torch.Generator().manual_seed(0)
    anchors = max(n // CLASSES, 1)
    pred = 2 * torch.randn(anchors, CLASSES, generator=generator)
    labels = torch.full((anchors, ), CLASSES, dtype=torch.long)
    positive = torch.rand(anchors, generator=generator) < 0.01
    labels[positive] = torch.randint(0, CLASSES, (int(positive.sum()), ),
                                     generator=generator)
    weight = (torch.rand(anchors, 1, generator=generator) > 0.05).float()
    return (pred.to(device).requires_grad_(True), labels.to(device),
            weight.to(device))


def logit_floor(pred, *rest):
    """One read of the logits and one write of their gradient."""
    return (pred * 1.0001).sum()


def plain_focal(gamma: float, alpha):
    """``sum(w * loss)`` of the sigmoid focal loss on one-hot targets (BCE for
    ``gamma=0, alpha=None``)."""
    def plain(pred, labels, weight):
        target = one_hot(labels, pred.shape[1] + 1)[:, :-1].to(pred.dtype)
        return (sigmoid_focal_loss(pred, target, gamma, alpha) * weight).sum()
    plain.__name__ = 'plain_bce' if gamma == 0 and alpha is None else 'plain_focal'
    return plain


def category_cases() -> List[Case]:
    return [
        Case('category', 'focal', make_logits,
             lambda pred, labels, weight: sigmoid_focal_loss_sum(
                 pred, labels, weight, 2.0, 0.25),
             maybe_compiled(plain_focal(2.0, 0.25)),
             logit_floor),
        # BCE is the focal engine at gamma = 0 without alpha (BCE in the registry)
        Case('category', 'bce', make_logits,
             lambda pred, labels, weight: sigmoid_focal_loss_sum(
                 pred, labels, weight, 0.0, None),
             maybe_compiled(plain_focal(0.0, None)),
             logit_floor),
        Case('category', 'qfl', make_quality_logits,
             lambda pred, labels, weight, scores: quality_focal_loss_sum(
                 pred, labels, weight, 2.0, scores=scores),
             maybe_compiled(plain_quality(quality_focal_loss)),
             logit_floor),
        Case('category', 'vfl', make_quality_logits,
             lambda pred, labels, weight, scores: varifocal_loss_sum(
                 pred, labels, weight, scores=scores),
             maybe_compiled(plain_quality(varifocal_loss)),
             logit_floor),
        Case('category', 'mal', make_quality_logits,
             lambda pred, labels, weight, scores: matchability_aware_loss_sum(
                 pred, labels, weight, scores=scores),
             maybe_compiled(plain_mal),
             logit_floor),
    ]


def make_quality_logits(n: int, device: str):
    """:func:`make_logits` plus the IoU quality score of each positive."""
    pred, labels, weight = make_logits(n, device)
    generator = torch.Generator().manual_seed(1)
    scores = torch.rand(labels.shape, generator=generator).to(device)
    return pred, labels, weight, scores * (labels < CLASSES)


def plain_quality(loss_fn):
    """``sum(w * loss)`` of QFL or VFL on the dense target (score at the label)."""
    def plain(pred, labels, weight, scores):
        target = one_hot(labels, pred.shape[1] + 1)[:, :-1].to(pred.dtype)
        return (loss_fn(pred, target * scores[:, None]) * weight).sum()
    plain.__name__ = f'plain_{loss_fn.__name__}'
    return plain


def plain_mal(pred, labels, weight, scores):
    """``sum(w * MAL)`` on the dense target, the label columns positive."""
    positive = one_hot(labels, pred.shape[1] + 1)[:, :-1]
    target = positive.to(pred.dtype) * scores[:, None]
    return (matchability_aware_loss(pred, target, positive=positive.bool())
            * weight).sum()


CASES = {'iou': iou_cases, 'category': category_cases}


class Timer:
    def __init__(self, device: str) -> None:
        self.cuda = device.startswith('cuda')

    def __call__(self, fn: Callable) -> float:
        """Milliseconds of one call of ``fn``."""
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
        begin = time.perf_counter()
        fn()
        return 1e3 * (time.perf_counter() - begin)


def step(loss_fn: Callable, compiled: bool, inputs) -> float:
    set_compile(compiled)
    pred = inputs[0]
    pred.grad = None
    loss = loss_fn(*inputs)
    loss.backward()
    return float(loss.detach())


def peak_mib(loss_fn: Callable, compiled: bool, inputs, device: str) -> float:
    if not device.startswith('cuda'):
        return float('nan')
    inputs[0].grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    step(loss_fn, compiled, inputs)
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - baseline) / 2**20


def measure(case: Case, n: int, args) -> Dict[str, dict]:
    inputs = case.make(n, args.device)
    variants = {'fused': (case.fused, True), 'plain compiled': (case.plain, True),
                'plain eager': (case.plain, False), 'floor': (case.floor, False)}
    timer = Timer(args.device)
    result = {}
    for key, (fn, compiled) in variants.items():
        begin = time.perf_counter()
        value = step(fn, compiled, inputs)       # compiles
        result[key] = dict(first_s=time.perf_counter() - begin, value=value, ms=[])
        for _ in range(args.warmup):
            step(fn, compiled, inputs)
    for _ in range(args.repeat):
        for key, (fn, compiled) in variants.items():
            result[key]['ms'].append(timer(lambda: step(fn, compiled, inputs)))
    for key, (fn, compiled) in variants.items():
        result[key]['mib'] = peak_mib(fn, compiled, inputs, args.device)
    set_compile(False)
    return result


def table(rows) -> str:
    columns = ('case', 'N', 'fused ms', 'plain compiled ms', 'plain eager ms',
               'floor ms', 'plain compiled / fused', 'fused / floor', 'fused MiB',
               'plain compiled MiB', 'floor MiB', 'fused compile s', 'rel. diff')
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    for case, n, result in rows:
        ms = {k: statistics.median(v['ms']) for k, v in result.items()}
        spread = [p / f for p, f in zip(result['plain compiled']['ms'],
                                        result['fused']['ms'])]
        plain_value = result['plain eager']['value']
        diff = abs(result['fused']['value'] - plain_value) / max(abs(plain_value),
                                                                  1e-30)
        lines.append('| ' + ' | '.join([
            f'{case.family}/{case.name}', f'{n:,}', f"{ms['fused']:.3f}",
            f"{ms['plain compiled']:.3f}", f"{ms['plain eager']:.3f}",
            f"{ms['floor']:.3f}",
            f"{ms['plain compiled'] / ms['fused']:.2f} "
            f'({min(spread):.2f}-{max(spread):.2f})',
            f"{ms['fused'] / ms['floor']:.2f}", f"{result['fused']['mib']:.0f}",
            f"{result['plain compiled']['mib']:.0f}", f"{result['floor']['mib']:.0f}",
            f"{result['fused']['first_s']:.0f}", f'{diff:.1e}']) + ' |')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, nargs='+', default=[1_000_000, 10_000_000],
                        help='box pairs (iou) / logits (category)')
    parser.add_argument('--cases', nargs='+', default=list(CASES),
                        choices=list(CASES))
    parser.add_argument('--names', nargs='+', default=None,
                        help='only these losses (e.g. giou focal)')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--out', default=None, help='also write gpu_losses.md here')
    args = parser.parse_args()
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('no CUDA device: pass --device cpu for a smoke test')
    device_name = torch.cuda.get_device_name() if args.device.startswith('cuda') \
        else 'cpu'
    header = (f'# fused loss kernels, fwd+bwd, float32, {device_name}, '
              f'torch {torch.__version__}')
    print(header, flush=True)
    rows = []
    for family in args.cases:
        for case in CASES[family]():
            if args.names and case.name not in args.names:
                continue
            for n in args.n:
                rows.append((case, n, measure(case, n, args)))
                print(f'#   {case.family}/{case.name} N={n:,} done', flush=True)
    text = header + '\n\n' + table(rows) + '\n'
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, 'gpu_losses.md'), 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
