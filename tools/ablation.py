"""Ablation grid over (category loss x location loss [x hyper-parameters]).

Examples::

    # the grid of the docs, on the built-in shapes data, on a CPU
    python tools/ablation.py configs/shapes/retinanet_r18_fpn_1xb4-1500i_shapes.py \\
        --cls focal ce --reg l1 giou ciou
    # Focal Loss paper, Table 1: gamma x alpha
    python tools/ablation.py CONFIG --cls focal --reg l1 --gamma 0 0.5 1 2 5 \\
        --alpha 0.25 0.5 0.75
    # each setting with seeds 0, 1 and 2: runs <setting>_s<seed>, a mean +- std table
    python tools/ablation.py CONFIG --cls focal ce --reg giou --seeds 0 1 2
    # a custom setting, and the per-run commands for a cluster
    python tools/ablation.py CONFIG --cls focal \\
        --reg giou "giou-eps=dict(type='mmdet_losses.GIoULoss', eps=1e-7)" \\
        --launcher slurm --partition gpu --dry-run

Writes ``<work-dir>/<run>/`` per run and ``<work-dir>/summary.{csv,md,png}``.
Finished runs are skipped when the same command is run again.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdet_losses.ablation import (CATEGORY_LOSSES, LOCATION_LOSSES,  # noqa: E402
                                   collect_results, make_grid, run_grid,
                                   write_report)
from mmdet_losses.ablation.grid import head_has_decoded_option  # noqa: E402


def _seed(text: str):
    if text.lower() == 'none':
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seed must be an integer or 'none', got {text!r}") from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='base config (its bbox_head losses are replaced)')
    parser.add_argument('--cls', nargs='+', default=['focal'],
                        help=f'category losses: {", ".join(CATEGORY_LOSSES)} or '
                        "NAME=dict(type='...', ...)")
    parser.add_argument('--reg', nargs='+', default=['l1'],
                        help=f'location losses: {", ".join(LOCATION_LOSSES)} or '
                        "NAME=dict(type='...', ...)")
    parser.add_argument('--gamma', type=float, nargs='+', help='focal gamma sweep')
    parser.add_argument('--alpha', type=float, nargs='+', help='focal alpha sweep')
    parser.add_argument('--reg-weight', type=float, nargs='+',
                        help='location loss_weight sweep (default: per loss)')
    parser.add_argument('--seeds', type=_seed, nargs='+',
                        help='one run per seed of every setting (none: a seed drawn '
                        'and logged by MMEngine, the default)')
    parser.add_argument('--work-dir', help='default: work_dirs/ablation_<config name>')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='none: one run after another here')
    parser.add_argument('--gpus', type=int, default=1, help='GPUs per run (pytorch)')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the per-run commands, train nothing')
    parser.add_argument('--report-only', action='store_true',
                        help='only collect the results of runs trained before')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every run, e.g. train_cfg.max_iters=200')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'ablation_{name}')
    os.makedirs(work_dir, exist_ok=True)
    decoded_key = head_has_decoded_option(args.config)
    try:
        runs = make_grid(args.cls, args.reg, args.gamma, args.alpha, args.reg_weight,
                         decoded_head=decoded_key, seeds=args.seeds)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    states = {}
    if not args.report_only:
        try:
            states = run_grid(runs, args.config, work_dir, decoded_key,
                              args.launcher, args.gpus, args.cfg_options,
                              args.dry_run, args.partition)
        except KeyboardInterrupt:
            print('stopped: run the same command again to continue', file=sys.stderr)
            write_report(collect_results(runs, work_dir), work_dir, name)
            return 130
    if args.dry_run:
        return 0
    rows = collect_results(runs, work_dir)
    paths = write_report(rows, work_dir, name)
    with open(paths['md'], encoding='utf-8') as f:
        print(f.read())
    print('written: ' + ', '.join(paths.values()))
    return 1 if any(s == 'failed' for s in states.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
