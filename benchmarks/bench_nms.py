"""Time of DIoU-NMS (``mmdet_losses.ops.diou_nms``, pure torch, eager and compiled)
against mmcv's compiled ``nms`` on the same boxes, at N boxes.

The boxes are a detector's before NMS: ``N / 20`` objects of 16-256 px (log-uniform)
in a 1333 x 800 image, each with 20 boxes jittered by 15% of its size (centre and
log-size), scores uniform. All variants see the same float32 tensors in the same
process and take turns ``--repeat`` times after ``--warmup`` rounds (the order
rotates), so a change of the machine's load hits them alike. Reported: the median time
of each, the median of the per-round ratios to mmcv and their spread (min-max), the
boxes each keeps, and the load average (``os.getloadavg``) before and after: a ratio
taken under load is a ratio under load. torch runs one thread by default, as mmcv's
CPU ``nms`` does.

``--classes C`` times the class-aware versions instead, with random labels in
``[0, C)``: ``batched_diou_nms`` and, as ``config``, ``mmcv.ops.batched_nms`` with
``type='diou_nms'`` (what a detector's ``test_cfg`` runs: mmcv's class offsets, then
``diou_nms``), against ``mmcv.ops.batched_nms`` with ``type='nms'``.

Usage::

    python benchmarks/bench_nms.py [--n 1000 10000] [--repeat 15] [--warmup 3]
        [--threshold 0.5] [--beta 1.0] [--classes 0] [--threads 1] [--compiled]
"""
import argparse
import os
import statistics
import time

os.environ.setdefault('MMDET_LOSSES_COMPILE', '0')

import torch  # noqa: E402
from mmcv.ops import batched_nms, nms  # noqa: E402

from mmdet_losses.functional import set_compile  # noqa: E402
from mmdet_losses.ops import batched_diou_nms, diou_nms  # noqa: E402


def make_detections(n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    objects = max(n // 20, 1)
    image = torch.tensor([1333.0, 800.0])
    size = torch.exp(torch.empty(objects, 2).uniform_(
        torch.log(torch.tensor(16.0)).item(), torch.log(torch.tensor(256.0)).item(),
        generator=generator))
    centre = torch.rand(objects, 2, generator=generator) * image
    which = torch.randint(0, objects, (n, ), generator=generator)
    jitter = torch.randn(n, 4, generator=generator) * 0.15
    box_centre = centre[which] + jitter[:, :2] * size[which]
    box_size = size[which] * torch.exp(jitter[:, 2:])
    boxes = torch.cat([box_centre - box_size / 2, box_centre + box_size / 2], dim=1)
    return boxes, torch.rand(n, generator=generator), \
        torch.randint(0, 80, (n, ), generator=generator)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(n: int, args) -> dict:
    boxes, scores, labels = make_detections(n)
    if args.classes:
        labels = labels % args.classes

        def ours():
            return batched_diou_nms(boxes, scores, labels, args.threshold, args.beta)

        def mmcv_op(nms_type='nms', **kwargs):
            return batched_nms(boxes, scores, labels, dict(
                type=nms_type, iou_threshold=args.threshold, **kwargs))[1]
    else:

        def ours():
            return diou_nms(boxes, scores, args.threshold, args.beta)

        def mmcv_op():
            return nms(boxes, scores, args.threshold)[1]

    def run(mode):
        if mode == 'mmcv':
            return mmcv_op()
        set_compile(mode == 'compiled')
        if mode == 'config':  # what test_cfg nms=dict(type='diou_nms') runs
            return mmcv_op('diou_nms', beta=args.beta)
        return ours()

    modes = ['mmcv', 'eager'] + (['compiled'] if args.compiled else []) + \
        (['config'] if args.classes else [])
    kept = {mode: len(run(mode)) for mode in modes}  # the first compiled call compiles
    for _ in range(args.warmup):
        for mode in modes:
            run(mode)
    load_before = os.getloadavg()[0]
    seconds = {mode: [] for mode in modes}
    for round_ in range(args.repeat):
        # rotate the order, so that no variant always runs first
        shift = round_ % len(modes)
        for mode in modes[shift:] + modes[:shift]:
            seconds[mode].append(timed(lambda: run(mode)))
    result = dict(n=n, kept=kept,
                  load=(load_before, os.getloadavg()[0]))
    for mode in modes:
        result[mode] = 1e3 * statistics.median(seconds[mode])
        if mode != 'mmcv':
            ratios = [a / b for a, b in zip(seconds[mode], seconds['mmcv'])]
            result[mode + '_ratio'] = (statistics.median(ratios), min(ratios),
                                       max(ratios))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, nargs='+', default=[1000, 10000])
    parser.add_argument('--repeat', type=int, default=15)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threshold', type=float, default=0.5)
    parser.add_argument('--beta', type=float, default=1.0)
    parser.add_argument('--classes', type=int, default=0,
                        help='0: class-agnostic diou_nms vs nms; C > 0: batched '
                        'versions with C classes')
    parser.add_argument('--threads', type=int, default=1,
                        help="torch's CPU threads (default 1: mmcv's CPU nms is "
                        'single-threaded)')
    parser.add_argument('--compiled', action='store_true',
                        help='also time the torch.compile path (compiles first)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    kind = f'batched, {args.classes} classes' if args.classes else 'class-agnostic'
    print(f'DIoU-NMS vs mmcv nms ({kind}), threshold {args.threshold}, beta '
          f'{args.beta}, torch threads {torch.get_num_threads()}, {args.repeat} '
          'rounds taking turns')
    modes = ['eager'] + (['compiled'] if args.compiled else []) + \
        (['config'] if args.classes else [])
    header = ['boxes', 'mmcv nms ms'] + [f'{m} ms' for m in modes] + \
        [f'{m} / mmcv (median, min-max)' for m in modes] + \
        ['kept (diou / nms)', 'load 1 min (before / after)']
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for n in args.n:
        r = measure(n, args)
        cells = [str(n), f"{r['mmcv']:.2f}"] + [f'{r[m]:.2f}' for m in modes] + [
            '{:.2f} ({:.2f}-{:.2f})'.format(*r[m + '_ratio']) for m in modes] + [
            f"{r['kept']['eager']} / {r['kept']['mmcv']}",
            f"{r['load'][0]:.2f} / {r['load'][1]:.2f}"]
        print('| ' + ' | '.join(cells) + ' |', flush=True)

if __name__ == '__main__':
    main()
