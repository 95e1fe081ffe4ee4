"""What telling the classes apart costs each trained run of an ablation grid
(mmdet_losses_lab.ablation.confusion): every finished run's final checkpoint
evaluated on the validation split, its COCO AP as labelled and with the confusions
between classes forgiven, and each setting against a baseline, paired by seed.

    python tools/confusion_ablation.py GRID_DIR --baseline SETTING [--runs RUN ...]
        [--iou-threshold 0.5]

Writes GRID_DIR/summary_confusion.csv (one row per run) and
GRID_DIR/summary_confusion.md; runs already in the CSV at that threshold are not
evaluated again.
"""
import os
import os.path as osp
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses_lab')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.ablation import confusion  # noqa: E402
from mmdet_losses_lab.ablation.retest import grid_parser, runs_to_test  # noqa: E402


def main(argv=None) -> int:
    from mmdet_losses_lab.training.quiet import quiet_warnings

    quiet_warnings()
    parser = grid_parser(__doc__)
    parser.add_argument('--baseline', help='the setting (a run name without _s<seed>) '
                        'the others are compared with')
    parser.add_argument('--iou-threshold', type=float, default=0.5,
                        help='IoU from which a detection takes the class of the '
                        'ground-truth box it overlaps most')
    args = parser.parse_args(argv)
    if not 0.0 < args.iou_threshold <= 1.0:
        print(f'error: --iou-threshold must be in (0, 1], got {args.iou_threshold}',
              file=sys.stderr)
        return 2
    runs = runs_to_test(args.grid_dir, args.runs)
    if not runs:
        return 2
    csv_path = osp.join(args.grid_dir, 'summary_confusion.csv')
    rows = confusion.read_rows(csv_path)
    done = {(r['run'], r['iou_threshold']) for r in rows}
    for run in runs:
        if (run, args.iou_threshold) in done:
            continue
        rows.append(confusion.evaluate_run(osp.join(args.grid_dir, run),
                                           args.iou_threshold))
        confusion.write_rows(csv_path, rows)
    rows = [r for r in rows if r['iou_threshold'] == args.iou_threshold]
    title = osp.basename(osp.normpath(args.grid_dir))
    text = confusion.markdown(rows, args.baseline, title)
    with open(osp.join(args.grid_dir, 'summary_confusion.md'), 'w',
              encoding='utf-8') as f:
        f.write(text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
