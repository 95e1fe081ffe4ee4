"""Forward+backward time and peak memory of the location losses: ours (compiled and
eager) against MMDetection's, for every loss both packages have, at N aligned box
pairs, plus a one-elementwise-pass floor.

Each loss is the registered module with ``reduction='mean'`` called on ``(N, 4)``
float32 boxes (``pred`` requiring grad), as a detection head calls it. Time is the
median of ``--repeat`` runs after ``--warmup`` runs (the first compiled run, which
compiles, is reported separately). Peak memory is the most memory held at once above
what was live before the call: ``torch.cuda.max_memory_allocated`` on CUDA, the
allocation events of ``torch.profiler`` on the CPU (tracemalloc does not see torch's
allocator). The floor, ``(pred - target).sum()`` forward and backward, reads the
inputs once and writes one gradient: no loss can beat it by much.

Usage::

    python benchmarks/bench_regression.py [--n 1000000] [--device cpu|cuda]
        [--repeat 7] [--warmup 2] [--losses GIoU CIoU ...] [--threads 1]
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict

os.environ.setdefault('MMDET_LOSSES_COMPILE', '0')

import torch  # noqa: E402
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from torch._C._profiler import _EventType  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the 'mmdet_losses' scope)
from mmdet_losses.functional import set_compile  # noqa: E402
from mmdet_losses.functional.compile import MaybeCompiled  # noqa: E402

# name -> (our config, MMDetection's config); both compute the same loss
LOSSES: Dict[str, tuple] = {
    'IoU (log)': (dict(type='mmdet_losses.IoULoss', mode='log'),
                  dict(type='IoULoss', mode='log')),
    'GIoU': (dict(type='mmdet_losses.GIoULoss'), dict(type='GIoULoss')),
    'DIoU': (dict(type='mmdet_losses.DIoULoss'), dict(type='DIoULoss')),
    'CIoU': (dict(type='mmdet_losses.CIoULoss', aspect_iou_threshold=0.5),
             dict(type='CIoULoss')),
    'SIoU': (dict(type='mmdet_losses.SIoULoss'),
             dict(type='SIoULoss', neg_gamma=True)),
    'L1': (dict(type='mmdet_losses.L1Loss'), dict(type='L1Loss')),
    'SmoothL1': (dict(type='mmdet_losses.SmoothL1Loss', beta=1.0),
                 dict(type='SmoothL1Loss', beta=1.0)),
}


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


def time_interleaved(variants: Dict[str, Variant], pred, target, args) -> dict:
    """Median ms of each variant; the variants take turns, so a change of the
    machine's load hits them alike and their ratios stay fair."""
    for _ in range(args.warmup):
        for variant in variants.values():
            variant.step(pred, target)
    times = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, variant in variants.items():
            times[name].append(variant.timed_step(pred, target, args.device))
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


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


def measure_loss(name: str, pred, target, args) -> dict:
    ours_cfg, mmdet_cfg = LOSSES[name]
    ours = MMDET_MODELS.build(ours_cfg).to(args.device)
    variants = {'mmdet': Variant(MMDET_MODELS.build(mmdet_cfg).to(args.device)),
                'eager': Variant(ours)}
    result = dict(name=name)
    if isinstance(type(ours).loss_fn, MaybeCompiled):
        variants['compiled'] = Variant(ours, compiled=True)
        # the first call compiles forward and backward
        result['compile_s'] = variants['compiled'].timed_step(pred, target,
                                                              args.device)
    ms = time_interleaved(variants, pred, target, args)
    for key, variant in variants.items():
        result[key] = dict(ms=ms[key], mib=peak_mib(variant, pred, target, args.device),
                           value=variant.step(pred, target).item())
    set_compile(False)
    return result


def _ratio(a: float, b: float) -> str:
    return f'{a / b:.2f}' if b > 0 else 'n/a'


COLUMNS = ('loss', 'mmdet ms', 'eager ms', 'compiled ms', 'eager / mmdet',
           'compiled / mmdet', 'best / floor', 'mmdet MiB', 'eager MiB',
           'compiled MiB', 'eager / mmdet mem', 'compiled / mmdet mem', 'compile s',
           'rel. diff')


def markdown_table(rows, floor) -> str:
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for row in rows:
        mmdet, eager, compiled = row['mmdet'], row['eager'], row.get('compiled')
        best = min(eager['ms'], compiled['ms']) if compiled else eager['ms']
        cells = [row['name'], f"{mmdet['ms']:.1f}", f"{eager['ms']:.1f}",
                 f"{compiled['ms']:.1f}" if compiled else 'not compiled',
                 _ratio(eager['ms'], mmdet['ms']),
                 _ratio(compiled['ms'], mmdet['ms']) if compiled else '-',
                 _ratio(best, floor['ms']), f"{mmdet['mib']:.0f}",
                 f"{eager['mib']:.0f}",
                 f"{compiled['mib']:.0f}" if compiled else '-',
                 _ratio(eager['mib'], mmdet['mib']),
                 _ratio(compiled['mib'], mmdet['mib']) if compiled else '-',
                 f"{row['compile_s']:.0f}" if compiled else '-',
                 f"{abs(eager['value'] - mmdet['value']) / abs(mmdet['value']):.1e}"]
        lines.append('| ' + ' | '.join(cells) + ' |')
    floor_cells = ['floor: (pred - target).sum()', '', f"{floor['ms']:.1f}", '', '',
                   '', '1.00', '', f"{floor['mib']:.0f}", '', '', '', '', '']
    lines.append('| ' + ' | '.join(floor_cells) + ' |')
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
                        help='CPU threads of torch (default: torch\'s); 1 is steadier '
                        'on a machine shared with other jobs')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    pred, target = make_boxes(args.n, args.device)
    print(f'# location losses, fwd+bwd, N={args.n:,} pairs, float32, '
          f'device={args.device}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads')
    floor_variant = Variant(lambda p, t: (p - t).sum())
    floor = dict(ms=time_interleaved({'floor': floor_variant}, pred, target,
                                     args)['floor'],
                 mib=peak_mib(floor_variant, pred, target, args.device))
    rows = []
    for name in args.losses:
        rows.append(measure_loss(name, pred, target, args))
        print(f'#   {name} done', flush=True)

    print()
    print(markdown_table(rows, floor))
    inputs_mib = 2 * args.n * 4 * 4 / 2**20
    print(f'\nInputs (pred + target) hold {inputs_mib:.0f} MiB; the gradient of pred '
          f'{inputs_mib / 2:.0f} MiB. "rel. diff": |ours - mmdet| / |mmdet| of the '
          'mean loss (same definitions).')


if __name__ == '__main__':
    main()
