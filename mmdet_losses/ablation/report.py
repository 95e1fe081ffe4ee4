"""Results of an ablation grid: read each run's MMEngine log, write a CSV, a
markdown table and one PNG (AP bar chart and every run's training-loss curve)."""
import csv
import glob
import json
import math
import os.path as osp
import re
import statistics
from typing import Dict, List, Optional, Sequence

from .grid import Run
from .runner import read_status

METRICS = (('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
           ('AP75', 'coco/bbox_mAP_75'), ('APs', 'coco/bbox_mAP_s'),
           ('APm', 'coco/bbox_mAP_m'), ('APl', 'coco/bbox_mAP_l'))
COLUMNS = ('run', 'cls', 'reg', 'gamma', 'alpha', 'reg_weight', 'seed', 'state',
           *(m for m, _ in METRICS), 'loss_cls', 'loss_bbox', 's_per_iter')
MEAN_COLUMNS = ('setting', 'runs', *(m for m, _ in METRICS))


def read_scalars(run_dir: str) -> List[Dict]:
    """The records of the run's newest MMEngine ``vis_data/scalars.json``."""
    paths = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    if not paths:
        return []
    with open(paths[-1], encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def read_seed(run_dir: str) -> Optional[int]:
    """The seed MMEngine logged in the run's newest log (``seed: <int>``)."""
    paths = sorted(glob.glob(osp.join(run_dir, '*', '*.log')))
    if not paths:
        return None
    with open(paths[-1], encoding='utf-8') as f:
        found = re.search(r'^\s*seed: (-?\d+)\s*$', f.read(), re.MULTILINE)
    return int(found.group(1)) if found else None


def _last(records: List[Dict], key: str) -> Optional[float]:
    values = [r[key] for r in records if key in r]
    return values[-1] if values else None


def summarize_run(run: Run, run_dir: str) -> Dict:
    """One table row, plus the training-loss curve under ``'curve'``."""
    records = read_scalars(run_dir)
    train = [r for r in records if 'loss' in r]
    times = [r['time'] for r in train if 'time' in r]
    steady = times[1:] if len(times) > 1 else times
    row = {'run': run.name, 'setting': run.setting, 'cls': run.cls_name,
           'reg': run.reg_name,
           'seed': run.seed if run.seed is not None else read_seed(run_dir),
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
        elif row[name] is not None and row[name] < 0:
            # COCO's -1: no ground truth in this area range, AP undefined
            row[name] = None
    return row


def collect_results(runs: Sequence[Run], work_dir: str) -> List[Dict]:
    return [summarize_run(run, osp.join(work_dir, run.name)) for run in runs]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if isinstance(value, float):
        return f'{value:.3f}' if abs(value) < 100 else f'{value:.1f}'
    return str(value)


def mean_over_seeds(rows: Sequence[Dict]) -> List[Dict]:
    """One row per setting: each metric as ``'mean +- std'`` over its finished runs
    (the sample standard deviation; the value alone for a single run)."""
    settings: Dict[str, List[Dict]] = {}
    for row in rows:
        settings.setdefault(row.get('setting', row['run']), []).append(row)
    table = []
    for setting, members in settings.items():
        done = [r for r in members if r['state'] == 'done']
        mean_row = {'setting': setting, 'runs': f'{len(done)}/{len(members)}'}
        for name, _ in METRICS:
            values = [r[name] for r in done if r[name] is not None]
            if not values:
                mean_row[name] = None
            elif len(values) == 1:
                mean_row[name] = f'{values[0]:.3f}'
            else:
                mean_row[name] = (f'{statistics.mean(values):.3f} +- '
                                  f'{statistics.stdev(values):.3f}')
        table.append(mean_row)
    return table


def markdown_table(rows: Sequence[Dict], columns: Sequence[str] = COLUMNS) -> str:
    lines = ['| ' + ' | '.join(columns) + ' |',
             '|' + '---|' * len(columns)]
    for row in rows:
        lines.append('| ' + ' | '.join(_fmt(row[c]) for c in columns) + ' |')
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
    bars.set_xlim(0, 1.25)
    bars.set_xlabel('COCO box AP (val)')
    bars.legend(loc='lower right')
    # one colour per setting, one line style per seed of it
    settings = list(dict.fromkeys(r.get('setting', r['run']) for r in rows))
    colours = plt.get_cmap('tab10' if len(settings) <= 10 else 'tab20')
    seen: Dict[str, int] = {}
    for row in rows:
        setting = row.get('setting', row['run'])
        index = seen[setting] = seen.get(setting, -1) + 1
        if row['curve']:
            steps, losses = zip(*row['curve'])
            curves.plot(steps, losses, label=row['run'], linewidth=1.2,
                        color=colours(settings.index(setting) % colours.N),
                        linestyle=('-', '--', ':', '-.')[index % 4])
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
        if len({r.get('setting', r['run']) for r in rows}) < len(rows):
            f.write('\n## Mean over seeds\n\n'
                    + markdown_table(mean_over_seeds(rows), MEAN_COLUMNS))
    plot(rows, paths['png'], title)
    return paths
