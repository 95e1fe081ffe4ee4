"""Forward+backward time and peak memory of the location losses: ours against
MMDetection's, for every loss both packages have, at N aligned box pairs, plus a
one-elementwise-pass floor.

Each loss is the registered module with ``reduction='mean'`` called on ``(N, 4)``
float32 boxes (``pred`` requiring grad), as a detection head calls it. Ours runs in
three ways:

* ``fused``: the module as it runs, compiled. For the losses that have a fused
  kernel (:mod:`mmdet_losses.functional.fused.iou`: IoU, GIoU, DIoU, CIoU, EIoU,
  SIoU) that is one reduction forward and one hand-derived element-wise backward;
  for the others, the plain path.
* ``plain``: the element-wise autograd form reduced by ``weight_reduce_loss``
  (what the module ran before the fused kernels), compiled.
* ``eager``: the module as it runs, not compiled: the plain path (run eagerly, the
  fused kernels would be slower than autograd, so the module does not take them).

Time is the median of ``--repeat`` rounds after ``--warmup`` rounds; in each round
every variant runs once, in turn, so that a change of the machine's load hits them
alike; the spread of the per-round ratios is reported (``min-max``). The first
compiled run, which compiles, is reported separately. Peak memory is the most memory
held at once above what was live before the call: ``torch.cuda.max_memory_allocated``
on CUDA, the allocation events of ``torch.profiler`` on the CPU (tracemalloc does not
see torch's allocator). The floor, ``(pred - target).sum()`` forward and backward,
reads the inputs once and writes one gradient: no loss can beat it by much. The
machine's load average is printed before and after: figures taken at a load above
the number of cores are not the quiet-machine figures the targets refer to.

Usage::

    python benchmarks/bench_regression.py [--n 1000000] [--device cpu|cuda]
        [--repeat 7] [--warmup 2] [--losses GIoU CIoU ...] [--threads 2]
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict, List, Optional

# The profiler's own log lines (USDT ... profiler_start) are not results.
os.environ.setdefault('KINETO_LOG_LEVEL', '6')

os.environ.setdefault('MMDET_LOSSES_COMPILE', '0')

import torch  # noqa: E402
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from torch._C._profiler import _EventType  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the 'mmdet_losses' scope)
from mmdet_losses.functional import set_compile  # noqa: E402
from mmdet_losses.functional.compile import MaybeCompiled  # noqa: E402
from mmdet_losses.functional.fused.iou import fused_kernel_for  # noqa: E402
from mmdet_losses.functional.reduction import weight_reduce_loss  # noqa: E402

# name -> (our config, MMDetection's config or None); both compute the same loss
LOSSES: Dict[str, tuple] = {
    'IoU (log)': (dict(type='mmdet_losses.IoULoss', mode='log'),
                  dict(type='IoULoss', mode='log')),
    'GIoU': (dict(type='mmdet_losses.GIoULoss'), dict(type='GIoULoss')),
    'DIoU': (dict(type='mmdet_losses.DIoULoss'), dict(type='DIoULoss')),
    'CIoU': (dict(type='mmdet_losses.CIoULoss', aspect_iou_threshold=0.5),
             dict(type='CIoULoss')),
    # MMDetection's EIoULoss is Extended-IoU, another loss: nothing to compare
    'EIoU': (dict(type='mmdet_losses.EIoULoss'), None),
    'SIoU': (dict(type='mmdet_losses.SIoULoss'),
             dict(type='SIoULoss', neg_gamma=True)),
    'L1': (dict(type='mmdet_losses.L1Loss'), dict(type='L1Loss')),
    'SmoothL1': (dict(type='mmdet_losses.SmoothL1Loss', beta=1.0),
                 dict(type='SmoothL1Loss', beta=1.0)),
}
# The CPU targets for the fused kernels (1M pairs, 2 threads, quiet machine).
TARGET_SPEEDUP_VS_MMDET = 5.0
TARGET_TIME_VS_FLOOR = 2.0
TARGET_MEMORY_VS_MMDET = 0.2


def make_boxes(n: int, device: str):
    """Targets of 8-400 px in a 1000 px image, predictions off by ~10% of the size."""
    generator = torch.Generator().manual_seed(0)
    corner = torch.rand(n, 2, generator=generator) * 600
    size = 8 + torch.rand(n, 2, generator=generator) * 392
    target = torch.cat([corner, corner + size], dim=1)
    noise = torch.randn(n, 4, generator=generator) * 0.1 * size.repeat(1, 2)
    pred = target + noise
    pred = torch.cat([torch.minimum(pred[:, :2], pred[:, 2:] - 1), pred[:, 2:]], 1)
    return pred.to(device).requires_grad_(True), target.to(device)


def synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def load_average() -> str:
    try:
        return '{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())
    except OSError:
        return 'n/a'


class Variant:
    """One way of computing a loss: a callable and the compile mode it runs in."""

    def __init__(self, loss_fn: Callable, compiled: bool = False) -> None:
        self.loss_fn, self.compiled = loss_fn, compiled

    def step(self, pred, target) -> torch.Tensor:
        set_compile(self.compiled)
        pred.grad = None
        loss = self.loss_fn(pred, target)
        loss.backward()
        return loss.detach()

    def timed_step(self, pred, target, device: str) -> float:
        synchronize(device)
        start = time.perf_counter()
        self.step(pred, target)
        synchronize(device)
        return time.perf_counter() - start


def plain_path(module) -> Callable:
    """The module's element-wise form reduced by ``weight_reduce_loss``, never
    fused (the module's path before the fused kernels)."""
    def run(pred, target):
        loss = module.elementwise(pred, target)
        return module.loss_weight * weight_reduce_loss(loss, None, module.reduction)
    return run


def time_interleaved(variants: Dict[str, Variant], pred, target,
                     args) -> Dict[str, List[float]]:
    """Seconds of each variant in each round; the variants take turns, so a change
    of the machine's load hits them alike and their ratios stay fair."""
    for _ in range(args.warmup):
        for variant in variants.values():
            variant.step(pred, target)
    times = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, variant in variants.items():
            times[name].append(variant.timed_step(pred, target, args.device))
    return times


def peak_mib(variant: Variant, pred, target, device: str) -> float:
    """Most memory held at once during one forward+backward, above what was live
    before it (the previous gradient of pred is freed first)."""
    pred.grad = None
    if device.startswith('cuda'):
        synchronize(device)
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
        variant.step(pred, target)
        synchronize(device)
        return (torch.cuda.max_memory_allocated() - baseline) / 2**20
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        variant.step(pred, target)
    allocations = []

    def walk(events):
        for event in events:
            if event.tag == _EventType.Allocation:
                allocations.append((event.start_time_ns, event.extra_fields.alloc_size))
            walk(event.children)

    walk(prof.profiler.kineto_results.experimental_event_tree())
    held = peak = 0
    for _, size in sorted(allocations):
        held += size
        peak = max(peak, held)
    return peak / 2**20


def measure_loss(name: str, pred, target, floor: Variant, args) -> dict:
    ours_cfg, mmdet_cfg = LOSSES[name]
    ours = MMDET_MODELS.build(ours_cfg).to(args.device)
    variants = {'floor': floor}
    if mmdet_cfg is not None:
        variants['mmdet'] = Variant(MMDET_MODELS.build(mmdet_cfg).to(args.device))
    variants['eager'] = Variant(ours)
    set_compile(True)
    result = dict(name=name, compile_s=None,
                  has_kernel=fused_kernel_for(type(ours).loss_fn, ours.loss_kwargs(),
                                              None, ours.reduction,
                                              args.device.split(':')[0])
                  is not None)
    set_compile(False)
    if isinstance(type(ours).loss_fn, MaybeCompiled):
        variants['fused'] = Variant(ours, compiled=True)
        # the first call compiles forward and backward
        result['compile_s'] = variants['fused'].timed_step(pred, target, args.device)
        if result['has_kernel']:
            variants['plain'] = Variant(plain_path(ours), compiled=True)
            variants['plain'].step(pred, target)
    times = time_interleaved(variants, pred, target, args)
    for key, variant in variants.items():
        result[key] = dict(ms=1e3 * statistics.median(times[key]),
                           mib=peak_mib(variant, pred, target, args.device),
                           value=variant.step(pred, target).item(), times=times[key])
    set_compile(False)
    return result


def _ratio(a: Optional[dict], b: Optional[dict], key: str = 'ms') -> str:
    """``a / b`` of the medians, with the min-max of the per-round ratios."""
    if a is None or b is None or b[key] <= 0:
        return '-'
    text = f'{a[key] / b[key]:.2f}'
    if key == 'ms':
        rounds = [x / y for x, y in zip(a['times'], b['times'])]
        text += f' ({min(rounds):.2f}-{max(rounds):.2f})'
    return text


COLUMNS = ('loss', 'mmdet ms', 'plain ms', 'fused ms', 'eager ms', 'floor ms',
           'mmdet / fused', 'fused / floor', 'mmdet MiB', 'plain MiB', 'fused MiB',
           'fused / mmdet mem', 'compile s', 'rel. diff')


def markdown_table(rows) -> str:
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for row in rows:
        mmdet, plain = row.get('mmdet'), row.get('plain')
        fused = row.get('fused')
        best = fused or row['eager']
        label = row['name'] + ('' if row['has_kernel'] else ' (no fused kernel)')

        def ms(cell):
            return '-' if cell is None else f"{cell['ms']:.1f}"

        def mib(cell):
            return '-' if cell is None else f"{cell['mib']:.0f}"

        if mmdet is not None:
            diff = abs(row['eager']['value'] - mmdet['value']) / abs(mmdet['value'])
            diff = f'{diff:.1e}'
        else:
            diff = '-'
        cells = [label, ms(mmdet), ms(plain), ms(fused), ms(row['eager']),
                 ms(row['floor']), _ratio(mmdet, best), _ratio(best, row['floor']),
                 mib(mmdet), mib(plain), mib(fused), _ratio(best, mmdet, 'mib'),
                 '-' if row['compile_s'] is None else f"{row['compile_s']:.0f}",
                 diff]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=1_000_000, help='box pairs')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available()
                        else 'cpu')
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--losses', nargs='+', default=list(LOSSES),
                        choices=list(LOSSES))
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads of torch (default: torch\'s); the targets '
                        'are set at 2')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    pred, target = make_boxes(args.n, args.device)
    print(f'# location losses, fwd+bwd, N={args.n:,} pairs, float32, '
          f'device={args.device}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads, {os.cpu_count()} cores, '
          f'load average before: {load_average()}')
    floor = Variant(lambda p, t: (p - t).sum())
    rows = []
    for name in args.losses:
        rows.append(measure_loss(name, pred, target, floor, args))
        print(f'#   {name} done (load {load_average()})', flush=True)

    print()
    print(markdown_table(rows))
    inputs_mib = 2 * args.n * 4 * 4 / 2**20
    print(f'\nLoad average after: {load_average()}. Inputs (pred + target) hold '
          f'{inputs_mib:.0f} MiB; the gradient of pred {inputs_mib / 2:.0f} MiB. '
          'Ratios: median of the rounds (min-max of the per-round ratios); "fused" '
          'is the module as it runs, compiled. "rel. diff": |ours - mmdet| / |mmdet| '
          'of the mean loss (same definitions). Targets (quiet machine, 2 threads): '
          f'mmdet / fused >= {TARGET_SPEEDUP_VS_MMDET}, fused / floor <= '
          f'{TARGET_TIME_VS_FLOOR}, fused / mmdet mem <= {TARGET_MEMORY_VS_MMDET}.')


if __name__ == '__main__':
    main()
