"""Results of an ablation grid: read each run's MMEngine log, write a CSV, a
markdown table and one PNG (AP per run, the paired differences with the baseline
and every run's training-loss curve).

With seeds, every setting is compared with the baseline seed by seed
(:mod:`mmdet_losses_lab.ablation.stats`): the mean difference in AP and AP75, its 95%
interval and a verdict; settings inside the noise are not ranked.
"""
import csv
import math
import os.path as osp
import re
import statistics
from typing import Dict, List, Optional, Sequence

from .compare import (COMPARED, COMPARISON_COLUMNS, compare_with_baseline,
                      comparison_column_names, comparison_columns,
                      comparison_markdown, group_by_setting, seeds_markdown)
from .grid import Run
from .store import archive_runs, load_run, read_archive

METRICS = (('AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
           ('AP75', 'coco/bbox_mAP_75'), ('APs', 'coco/bbox_mAP_s'),
           ('APm', 'coco/bbox_mAP_m'), ('APl', 'coco/bbox_mAP_l'))
COLUMNS = ('run', 'cls', 'reg', 'gamma', 'alpha', 'reg_weight', 'seed', 'state',
           *(m for m, _ in METRICS), 'loss_cls', 'loss_bbox', 's_per_iter',
           *COMPARISON_COLUMNS)
MEAN_COLUMNS = ('setting', 'runs', *(m for m, _ in METRICS))
SWEPT = ('gamma', 'alpha', 'reg_weight')
# CocoMetric(classwise=True) logs each class's AP @[.50:.95] as coco/<class>_precision;
# the report's column for it is AP_<class>.
CLASS_METRIC = re.compile(r'^coco/(.+)_precision$')
CLASS_PREFIX = 'AP_'
# Iterations left out of s_per_iter: model building, first allocations, compilation.
WARMUP_ITERS = 10


def steady_seconds_per_iter(train: Sequence[Dict],
                            window: Optional[int] = None) -> Optional[float]:
    """Mean logged ``time`` over the records whose smoothing window lies after the
    first :data:`WARMUP_ITERS` iterations.

    A record at iteration ``i`` averages iterations ``i - window + 1 .. i``;
    without a known ``window`` the spacing of the records (the logging interval) is
    taken. A run too short for any clean record gives its last record.
    """
    timed = [(r.get('iter', r.get('step')), r['time']) for r in train if 'time' in r]
    timed = [(i, t) for i, t in timed if i is not None]
    if not timed:
        return None
    if window is None:
        window = timed[1][0] - timed[0][0] if len(timed) > 1 else timed[0][0]
    steady = [t for i, t in timed if i - window + 1 > WARMUP_ITERS]
    return statistics.fmean(steady) if steady else timed[-1][1]


def _last(records: List[Dict], key: str) -> Optional[float]:
    values = [r[key] for r in records if key in r]
    return values[-1] if values else None


def summarize_run(run: Run, record: Dict) -> Dict:
    """One table row from the run's record (:func:`~.store.load_run`), plus the
    training-loss curve under ``'curve'``."""
    records = record.get('records', [])
    train = [r for r in records if 'loss' in r]
    row = {'run': run.name, 'setting': run.setting, 'cls': run.cls_name,
           'reg': run.reg_name, 'seeded': run.seed is not None,
           'seed': run.seed if run.seed is not None else record.get('seed'),
           'gamma': run.hyper.get('gamma', run.loss_cls.get('gamma')),
           'alpha': run.hyper.get('alpha', run.loss_cls.get('alpha')),
           'reg_weight': run.hyper.get('reg_weight'),
           'state': record.get('status', {}).get('state', 'not run'),
           'loss_cls': _last(train, 'loss_cls'), 'loss_bbox': _last(train, 'loss_bbox'),
           's_per_iter': steady_seconds_per_iter(train, record.get('log_window')),
           'curve': [(r.get('iter', r.get('step')), r['loss']) for r in train]}
    validated = any('loss' not in r and 'lr' not in r for r in records)
    metrics = list(METRICS)
    for record in records:
        for key in record:
            found = CLASS_METRIC.match(key)
            if found and (CLASS_PREFIX + found.group(1), key) not in metrics:
                metrics.append((CLASS_PREFIX + found.group(1), key))
    for name, key in metrics:
        row[name] = _last(records, key)
        if row[name] is None and validated:
            # CocoMetric returns no metrics when a model detects nothing: AP is 0
            row[name] = 0.0
        elif row[name] is not None and row[name] < 0:
            # COCO's -1: no ground truth in this area range, AP undefined
            row[name] = None
    return row


def collect_results(runs: Sequence[Run], work_dir: str) -> List[Dict]:
    """The rows of ``runs``: finished run folders are archived first (a SLURM job
    records its outcome in its folder only), runs without a folder come from the
    archive."""
    archive_runs(work_dir, [run.name for run in runs])
    archive = read_archive(work_dir)
    return [summarize_run(run, load_run(work_dir, run.name, archive)) for run in runs]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    if isinstance(value, float):
        return f'{value:.3f}' if abs(value) < 100 else f'{value:.1f}'
    return str(value)


def class_metrics(rows: Sequence[Dict]) -> List[str]:
    """The per-class AP columns (``AP_<class>``) the runs have, in the order met."""
    return list(dict.fromkeys(key for row in rows for key in row
                              if key.startswith(CLASS_PREFIX)))


def mean_over_seeds(rows: Sequence[Dict],
                    metrics: Optional[Sequence[str]] = None) -> List[Dict]:
    """One row per setting: each metric (default: the COCO ones and each class's AP)
    as ``'mean +- std'`` over its finished runs (the sample standard deviation; the
    value alone for a single run)."""
    if metrics is None:
        metrics = [name for name, _ in METRICS] + class_metrics(rows)
    table = []
    for setting, members in group_by_setting(rows).items():
        done = [r for r in members if r['state'] == 'done']
        mean_row = {'setting': setting, 'runs': f'{len(done)}/{len(members)}'}
        for name in metrics:
            values = [r[name] for r in done if r.get(name) is not None]
            if not values:
                mean_row[name] = None
            elif len(values) == 1:
                mean_row[name] = f'{values[0]:.3f}'
            else:
                mean_row[name] = (f'{statistics.mean(values):.3f} +- '
                                  f'{statistics.stdev(values):.3f}')
        table.append(mean_row)
    return table


def sweep_markdown(rows: Sequence[Dict], metrics: Sequence[str] = ('AP', 'AP75')) -> str:
    """Grids that sweep two hyperparameters (``gamma`` x ``alpha``, the Focal Loss
    paper's Table 1b): one table per metric and per (cls, reg) pair, the first swept
    name down, the second across, each cell the mean over the finished runs and, if
    not every cell has the same number of runs, that number in brackets. ``''`` when
    the grid does not sweep exactly two. A name is swept where it takes two values
    within one (cls, reg) pair: losses that differ in their defaults (focal's
    ``alpha`` 0.25, VFL's 0.75, MAL's ``gamma`` 1.5) are no sweep."""
    done = [r for r in rows if r['state'] == 'done']
    pairs: Dict[tuple, List[Dict]] = {}
    for r in done:
        pairs.setdefault((r['cls'], r['reg']), []).append(r)
    swept = [h for h in SWEPT
             if any(len({r.get(h) for r in group} - {None}) > 1
                    for group in pairs.values())]
    if len(swept) != 2:
        return ''
    down, across = swept
    text, all_counts = [], set()
    for (cls, reg), group in pairs.items():
        group = [r for r in group
                 if r.get(down) is not None and r.get(across) is not None]
        if not group:
            continue
        downs = sorted({r[down] for r in group})
        acrosses = sorted({r[across] for r in group})
        cells = {(d, a): [r for r in group if (r[down], r[across]) == (d, a)]
                 for d in downs for a in acrosses}
        counts = {len(c) for c in cells.values()}
        all_counts |= counts
        for metric in metrics:
            lines = [f'### {metric}, {cls} + {reg}: {down} down, {across} across\n',
                     f'| {down} \\ {across} | ' + ' | '.join(f'{a:g}' for a in acrosses) + ' |',
                     '|' + '---|' * (len(acrosses) + 1)]
            for d in downs:
                row = []
                for a in acrosses:
                    values = [r[metric] for r in cells[d, a] if r[metric] is not None]
                    cell = _fmt(statistics.mean(values)) if values else '-'
                    if len(counts) > 1:
                        cell += f' ({len(values)})'
                    row.append(cell)
                lines.append(f'| {d:g} | ' + ' | '.join(row) + ' |')
            text.append('\n'.join(lines) + '\n')
    runs = ' or '.join(str(c) for c in sorted(all_counts))
    return (f'## {down} x {across}\n\nMean over the finished runs of each cell '
            f'({runs} a cell).\n\n' + '\n'.join(text))


def markdown_table(rows: Sequence[Dict], columns: Sequence[str] = COLUMNS) -> str:
    lines = ['| ' + ' | '.join(columns) + ' |',
             '|' + '---|' * len(columns)]
    for row in rows:
        lines.append('| ' + ' | '.join(_fmt(row.get(c)) for c in columns) + ' |')
    return '\n'.join(lines) + '\n'


def write_report(rows: Sequence[Dict], work_dir: str, title: str = 'ablation',
                 baseline: Optional[str] = None) -> Dict[str, str]:
    """Write ``summary.csv``, ``summary.md`` and ``summary.png`` in ``work_dir``.

    Runs evaluated per class (``classwise=True``) add each class's AP to the tables
    and a paired comparison per class (each class its own Holm family)."""
    from .plots import plot
    paths = {ext: osp.join(work_dir, f'summary.{ext}') for ext in ('csv', 'md', 'png')}
    per_class = class_metrics(rows)
    comparisons = compare_with_baseline(rows, baseline, (*COMPARED, *per_class))
    split = COLUMNS.index('APl') + 1
    columns = [*COLUMNS[:split], *per_class, *COLUMNS[split:],
               *comparison_column_names(per_class)[1:]]
    with open(paths['csv'], 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(comparison_columns(rows, comparisons, (*COMPARED, *per_class)))
    compared_columns = set(comparison_column_names((*COMPARED, *per_class)))
    run_columns = [c for c in columns if c not in compared_columns]
    with open(paths['md'], 'w', encoding='utf-8') as f:
        f.write(f'# {title}\n\n' + markdown_table(rows, run_columns))
        if len(group_by_setting(rows)) < len(rows):
            f.write('\n## Mean over seeds\n\n'
                    + markdown_table(mean_over_seeds(rows),
                                     [*MEAN_COLUMNS, *per_class]))
        sweep = sweep_markdown(rows)
        if sweep:
            f.write('\n' + sweep)
        if comparisons:
            f.write('\n' + comparison_markdown(comparisons))
            if per_class:
                f.write('\n' + comparison_markdown(
                    comparisons, per_class,
                    'Per class: AP of each class compared with {baseline}, paired '
                    'by seed'))
            f.write('\n' + seeds_markdown(comparisons))
    plot(rows, paths['png'], title, comparisons)
    return paths
