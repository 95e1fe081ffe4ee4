"""DIoU-NMS against plain NMS at test time on the trained runs of an ablation grid
(mmdet_losses_lab.ablation.nms): every finished run's final checkpoint evaluated on
the validation split with each NMS, then the paired comparison over the runs.

    python tools/nms_ablation.py GRID_DIR [--runs RUN ...] [--nms nms diou_nms]
        [--iou-threshold 0.5] [--beta 1.0]

Writes GRID_DIR/summary_nms.csv (each run, NMS, IoU threshold and beta: AP, AP50,
AP75, AR@100, per-class AP) and GRID_DIR/summary_nms.md (a comparison per IoU
threshold and beta); evaluations already in the CSV are not repeated, and another
--iou-threshold or --beta is evaluated beside them.
"""
import os
import os.path as osp
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses_lab')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.ablation import nms as nms_ablation  # noqa: E402
from mmdet_losses_lab.ablation.retest import grid_parser, runs_to_test  # noqa: E402


def main(argv=None) -> int:
    from mmdet_losses_lab.training.quiet import quiet_warnings

    quiet_warnings()
    parser = grid_parser(__doc__)
    parser.add_argument('--nms', nargs=2, default=['nms', 'diou_nms'],
                        metavar=('BASELINE', 'OTHER'))
    parser.add_argument('--iou-threshold', type=float, default=0.5)
    parser.add_argument('--beta', type=float, default=1.0,
                        help="DIoU-NMS's exponent of the distance penalty")
    args = parser.parse_args(argv)
    try:
        settings = nms_ablation.nms_settings(args.nms, args.iou_threshold, args.beta)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    runs = runs_to_test(args.grid_dir, args.runs)
    if not runs:
        return 2
    csv_path = osp.join(args.grid_dir, 'summary_nms.csv')
    rows = nms_ablation.read_rows(csv_path)
    done = {nms_ablation.row_key(r) for r in rows}
    key = (float(args.iou_threshold), float(args.beta))
    for run in runs:
        for name, nms in settings.items():
            if (run, name, *key) in done:
                continue
            run_dir = osp.join(args.grid_dir, run)
            metrics = nms_ablation.evaluate(run_dir, nms, osp.join(run_dir, f'test_{name}'))
            rows.append(nms_ablation.row_from_metrics(run, name, metrics, key))
            classes = sorted({k[3:] for r in rows for k in r if k.startswith('AP_')})
            nms_ablation.write_rows(csv_path, rows, classes)
            print(f'{run} {name}: AP {rows[-1]["AP"]:.3f} AR@100 {rows[-1]["AR100"]:.3f}')
    text = nms_ablation.markdown(rows, *args.nms, osp.basename(osp.normpath(args.grid_dir)),
                                 settings)
    with open(osp.join(args.grid_dir, 'summary_nms.md'), 'w', encoding='utf-8') as f:
        f.write(text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
