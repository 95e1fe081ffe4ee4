"""Ablation grid over (category loss x location loss [x hyper-parameters]).

Examples::

    # the grid of the docs, on the built-in shapes data, on a CPU
    python tools/ablation.py configs/shapes/retinanet_r18_fpn_1xb4-1500i_shapes.py \\
        --cls focal ce --reg l1 giou ciou
    # Focal Loss paper, Table 1: gamma x alpha
    python tools/ablation.py CONFIG --cls focal --reg l1 --gamma 0 0.5 1 2 5 \\
        --alpha 0.25 0.5 0.75
    # each setting with seeds 0, 1 and 2: runs <setting>_s<seed>, a mean +- std table
    # and every setting against the baseline (here ce_giou), paired by seed: the mean
    # difference, its 95% interval and "better" / "worse" / "within noise"
    python tools/ablation.py CONFIG --cls focal ce --reg giou --seeds 0 1 2 \
        --baseline ce_giou
    # any MMDetection detector, by its mmdet:: name (two-stage: rpn_head and
    # roi_head.bbox_head are rewired)
    python tools/ablation.py mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py \
        --cls ce --reg l1 giou --data-root data/coco
    # a custom setting, and the per-run commands for a cluster
    python tools/ablation.py CONFIG --cls focal \\
        --reg giou "giou-eps=dict(type='mmdet_losses.GIoULoss', eps=1e-7)" \\
        --launcher slurm --partition gpu --dry-run
    # a DETR: the box loss goes to loss_iou, a coordinate loss to loss_bbox; the
    # matcher's IoU cost follows the box loss (default) and/or is kept
    python tools/ablation.py mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py \
        --cls focal bce --reg giou ciou --match-cost follow keep --dry-run
    # on a SLURM cluster: one sbatch job per run, 2 GPUs each; wait for them all
    python tools/ablation.py CONFIG --cls focal ce --reg l1 giou \\
        --launcher slurm --partition gpu --gpus 2 --time 4:00:00

Writes ``<work-dir>/<run>/`` per run, ``<work-dir>/runs.json`` (every finished run's
metrics), ``<work-dir>/manifest.json`` (the commands, commit and versions, each run's
config key and seed) and ``<work-dir>/summary.{csv,md,png}``. Finished runs are
skipped when the same command is run again, from their folders or from
``runs.json`` alone (a grid kept in results/ resumes there); a run whose config,
``--cfg-options`` or ``--data-root`` changed is trained again.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdet_losses_lab.ablation import (CATEGORY_LOSSES, LOCATION_LOSSES,  # noqa: E402
                                   collect_results, make_grid, run_grid,
                                   write_report)
from mmdet_losses_lab.ablation.heads import MATCH_COST_MODES  # noqa: E402
from mmdet_losses_lab.ablation.layout import inspect_detector  # noqa: E402
from mmdet_losses_lab.ablation.provenance import environment  # noqa: E402
from mmdet_losses_lab.ablation.provenance import grid_command  # noqa: E402
from mmdet_losses_lab.ablation.slurm import (add_slurm_arguments,  # noqa: E402
                                             options_from_args, refresh_states)
from mmdet_losses_lab.ablation.store import (current_status,  # noqa: E402
                                             record_command, record_runs)


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
    parser.add_argument('config', help='base config, a path or a scope::name such as '
                        'mmdet::atss/atss_r50_fpn_1x_coco.py (its losses are replaced '
                        'in bbox_head, or rpn_head and roi_head.bbox_head)')
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
    parser.add_argument('--match-cost', nargs='+', choices=list(MATCH_COST_MODES),
                        default=['follow'],
                        help="set-prediction detectors (the DETR family): the "
                        "matcher's IoU cost 'follow's the run's box loss "
                        "(mmdet_losses.BoxLossCost; the default, so that the loss "
                        "scores the assignment it would make) or the base's is "
                        "'keep't; both: one run of each, named _mfollow / _mkeep")
    parser.add_argument('--seeds', type=_seed, nargs='+',
                        help='one run per seed of every setting (none: a seed drawn '
                        'and logged by MMEngine, the default)')
    parser.add_argument('--work-dir', help='default: work_dirs/ablation_<config name>')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='none: one run after another here')
    parser.add_argument('--gpus', type=int, default=1,
                        help='GPUs per run (pytorch, slurm; 0: a CPU slurm partition)')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the per-run commands, train nothing')
    parser.add_argument('--report-only', action='store_true',
                        help='only collect the results of runs trained before')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to every run, e.g. train_cfg.max_iters=200')
    parser.add_argument('--data-root',
                        help='move every dataset and COCO evaluator of the runs here '
                        '(relative paths: from the current directory)')
    parser.add_argument('--baseline',
                        help='the setting the others are compared with, paired by '
                        'seed (default: the first setting)')
    add_slurm_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from mmdet_losses_lab.training.quiet import quiet_warnings

    quiet_warnings()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'ablation_{name}')
    os.makedirs(work_dir, exist_ok=True)
    try:
        layout = inspect_detector(args.config)
        runs = make_grid(args.cls, args.reg, args.gamma, args.alpha, args.reg_weight,
                         seeds=args.seeds, layout=layout,
                         match_costs=args.match_cost)
        settings = list(dict.fromkeys(run.setting for run in runs))
        if args.baseline is not None and args.baseline not in settings:
            raise ValueError(f'--baseline must be one of the settings {settings}, '
                             f'got {args.baseline!r}')
    except (ValueError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    if not (args.dry_run or args.report_only):
        record_command(work_dir, grid_command(argv, os.getcwd()),
                       environment(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    states = {}
    slurm_options = None
    if args.launcher == 'slurm' and not (args.report_only or args.dry_run):
        try:
            slurm_options = options_from_args(args)
        except ValueError as error:
            print(f'error: {error}', file=sys.stderr)
            return 2
    if args.report_only:  # settle the SLURM jobs that ended without a word
        refresh_states([osp.join(work_dir, run.name) for run in runs])
    else:
        try:
            states = run_grid(runs, None, work_dir, None,
                              args.launcher, args.gpus, args.cfg_options,
                              args.dry_run, args.partition,
                              slurm_options=slurm_options, wait=not args.no_wait,
                              data_root=args.data_root)
        except KeyboardInterrupt:
            print('stopped: run the same command again to continue', file=sys.stderr)
            write_report(collect_results(runs, work_dir), work_dir, name,
                         args.baseline)
            return 130
    if args.dry_run:
        return 0
    rows = collect_results(runs, work_dir)
    record_runs(work_dir, {row['run']: {
        'key': current_status(work_dir, row['run']).get('key'), 'seed': row['seed'],
        'state': row['state'], 'seconds': current_status(work_dir, row['run']).get(
            'seconds')} for row in rows if row['state'] != 'not run'})
    paths = write_report(rows, work_dir, name, args.baseline)
    with open(paths['md'], encoding='utf-8') as f:
        print(f.read())
    print('written: ' + ', '.join(paths.values()))
    return 1 if any(s == 'failed' for s in states.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
