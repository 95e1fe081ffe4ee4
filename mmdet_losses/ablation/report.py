"""Results of an ablation grid: read each run's MMEngine log, write a CSV, a
markdown table and one PNG (AP bar chart and every run's training-loss curve)."""
import csv
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .grid import Run
from .runner import read_status

METRICS = (('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
           ('AP75', 'coco/bbox_mAP_75'), ('APs', 'coco/bbox_mAP_s'),
           ('APm', 'coco/bbox_mAP_m'), ('APl', 'coco/bbox_mAP_l'))
COLUMNS = ('run', 'cls', 'reg', 'gamma', 'alpha', 'reg_weight', 'state',
           *(m for m, _ in METRICS), 'loss_cls', 'loss_bbox', 's_per_iter')


def read_scalars(run_dir: str) -> List[Dict]:
    """The records of the run's newest MMEngine ``vis_data/scalars.json``."""
    paths = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        return []
    with open(paths[-1], encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def _last(records: List[Dict], key: str) -> Optional[float]:
    values = [r[key] for r in records if key in r]
    return values[-1] if values else None


def summarize_run(run: Run, run_dir: str) -> Dict:
    """One table row, plus the training-loss curve under ``'curve'``."""
    records = read_scalars(run_dir)
    train = [r for r in records if 'loss' in r]
    times = [r['time'] for r in train if 'time' in r]
    steady = times[1:] if len(times) > 1 else times
    row = {'run': run.name, 'cls': run.cls_name, 'reg': run.reg_name,
           'gamma': run.hyper.get('gamma', run.loss_cls.get('gamma')),
           'alpha': run.hyper.get('alpha', run.loss_cls.get('alpha')),
           'reg_weight': run.hyper.get('reg_weight'),
           'state': read_status(run_dir).get('state', 'not run'),
           'loss_cls': _last(train, 'loss_cls'), 'loss_bbox': _last(train, 'loss_bbox'),
           's_per_iter': sum(steady) / len(steady) if steady else None,
           'curve': [(r.get('iter', r.get('step')), r['loss']) for r in train]}
    validated = any('loss' not in r and 'lr' not in r for r in records)
    for name, key in METRICS:
        row[name] = _last(records, key)
        if row[name] is None and validated:
            # CocoMetric returns no metrics when a model detects nothing: AP is 0
            row[name] = 0.0
    return row


def collect_results(runs: Sequence[Run], work_dir: str) -> List[Dict]:
    return [summarize_run(run, osp.join(work_dir, run.name)) for run in runs]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if isinstance(value, float):
        return f'{value:.3f}' if abs(value) < 100 else f'{value:.1f}'
    return str(value)


def markdown_table(rows: Sequence[Dict]) -> str:
    lines = ['| ' + ' | '.join(COLUMNS) + ' |',
             '|' + '---|' * len(COLUMNS)]
    for row in rows:
        lines.append('| ' + ' | '.join(_fmt(row[c]) for c in COLUMNS) + ' |')
    return '\n'.join(lines) + '\n'


def plot(rows: Sequence[Dict], path: str, title: str = 'ablation') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (bars, curves) = plt.subplots(1, 2, figsize=(13, 4.8))
    names = [r['run'] for r in rows]
    bars.barh(names, [r['AP'] or 0.0 for r in rows], color='tab:blue', label='AP')
    bars.barh(names, [r['AP50'] or 0.0 for r in rows], color='tab:blue', alpha=0.3,
              label='AP50')
    for i, row in enumerate(rows):
        if row['state'] != 'done':
            bars.text(0.01, i, row['state'], va='center', color='tab:red')
    bars.invert_yaxis()
    bars.set_xlabel('COCO box AP (val)')
    bars.legend(loc='lower right')
    for row in rows:
        if row['curve']:
            steps, losses = zip(*row['curve'])
            curves.plot(steps, losses, label=row['run'], linewidth=1.2)
    curves.set_xlabel('iteration')
    curves.set_ylabel('training loss')
    curves.set_yscale('log')
    if any(r['curve'] for r in rows):
        curves.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(rows: Sequence[Dict], work_dir: str,
                 title: str = 'ablation') -> Dict[str, str]:
    """Write ``summary.csv``, ``summary.md`` and ``summary.png`` in ``work_dir``."""
    paths = {ext: osp.join(work_dir, f'summary.{ext}') for ext in ('csv', 'md', 'png')}
    with open(paths['csv'], 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    with open(paths['md'], 'w', encoding='utf-8') as f:
        f.write(f'# {title}\n\n' + markdown_table(rows))
    plot(rows, paths['png'], title)
    return paths
