"""DIoU-NMS against plain NMS at test time, on the trained runs of a grid.

Each finished run of the grid is evaluated again from its final checkpoint on the
validation split, once per NMS setting, with nothing else changed (the same model,
images, score threshold and IoU threshold); the COCO metric with AR@100 (recall of
the 100 best detections per image) beside AP, AP50 and AP75, and the AP of each
class. The settings are then compared run by run: the paired
difference over all runs (each run's model is its own pair), its 95% interval and
p-value (:mod:`.stats`).

Writes ``summary_nms.csv`` (one row per run and setting, with the setting's IoU
threshold and ``beta``: the metrics the comparison is computed from) and
``summary_nms.md`` (a comparison per IoU threshold and ``beta`` evaluated) in the
grid's work dir.
"""
import csv
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from .retest import retest_run
from .stats import paired_difference

# COCO metrics read back; CocoMetric logs them as coco/bbox_<item>
METRIC_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'AR@100')
COLUMNS = {'AP': 'coco/bbox_mAP', 'AP50': 'coco/bbox_mAP_50',
           'AP75': 'coco/bbox_mAP_75', 'AR100': 'coco/bbox_AR@100'}
# What identifies an evaluation besides its run and NMS name; rows of a CSV written
# before these columns existed were evaluated at the tool's defaults.
SETTING_COLUMNS = {'iou_threshold': 0.5, 'beta': 1.0}


def nms_settings(names: Sequence[str], iou_threshold: float,
                 beta: float) -> Dict[str, dict]:
    """``{name: test_cfg.nms}`` for ``nms`` and ``diou_nms``."""
    table = {'nms': dict(type='nms', iou_threshold=iou_threshold),
             'diou_nms': dict(type='diou_nms', iou_threshold=iou_threshold,
                              beta=beta)}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f'NMS settings must be among {sorted(table)}, got {unknown}')
    return {name: table[name] for name in names}


def evaluate(run_dir: str, nms: dict, work_dir: str) -> Dict[str, float]:
    """The run's final checkpoint on its validation split with ``nms`` as the test
    NMS; ``{metric key: value}`` as CocoMetric returns it."""
    return retest_run(run_dir, work_dir, nms, metric_items=list(METRIC_ITEMS),
                      classwise=True)


def read_rows(path: str) -> List[Dict]:
    if not osp.isfile(path):
        return []
    with open(path, newline='', encoding='utf-8') as f:
        rows = [{k: v if k in ('run', 'nms') else (float(v) if v else None)
                 for k, v in r.items()} for r in csv.DictReader(f)]
    for row in rows:
        for name, default in SETTING_COLUMNS.items():
            if row.get(name) is None:
                row[name] = default
    return rows


def write_rows(path: str, rows: Sequence[Dict], classes: Sequence[str]) -> None:
    fields = ['run', 'nms', *SETTING_COLUMNS, *COLUMNS,
              *(f'AP_{c}' for c in classes)]
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


def row_key(row: Dict) -> Tuple[str, str, float, float]:
    """What a row evaluated: its run, NMS name, IoU threshold and ``beta`` (of the
    comparison's DIoU-NMS; a plain-NMS row carries it too, to pair with it)."""
    return row['run'], row['nms'], row['iou_threshold'], row['beta']


def row_from_metrics(run: str, nms: str, metrics: Dict[str, float],
                     setting: Tuple[float, float]) -> Dict:
    row = {'run': run, 'nms': nms, 'iou_threshold': setting[0], 'beta': setting[1]}
    for name, key in COLUMNS.items():
        row[name] = metrics.get(key)
    for key, value in metrics.items():
        if key.startswith('coco/') and key.endswith('_precision'):
            row['AP_' + key[len('coco/'):-len('_precision')]] = value
    return row


def compare(rows: Sequence[Dict], baseline: str, other: str,
            metrics: Sequence[str]) -> List[Tuple[str, object]]:
    """``[(metric, PairedDifference)]`` of ``other - baseline``, paired by run."""
    by = {(r['run'], r['nms']): r for r in rows}
    if len(by) < len(rows):
        raise ValueError('rows of more than one IoU threshold or beta: compare the '
                         'rows of one setting at a time')
    runs = sorted({r['run'] for r in rows})
    out = []
    for metric in metrics:
        base = {i: by[run, baseline][metric] for i, run in enumerate(runs)
                if (run, baseline) in by and by[run, baseline].get(metric) is not None}
        test = {i: by[run, other][metric] for i, run in enumerate(runs)
                if (run, other) in by and by[run, other].get(metric) is not None}
        out.append((metric, paired_difference(base, test)))
    return out


def markdown(rows: Sequence[Dict], baseline: str, other: str, title: str,
             settings: Dict[str, dict]) -> str:
    """The paired comparison of ``other`` with ``baseline`` over the runs, one
    section per IoU threshold and ``beta`` in ``rows`` (``settings`` names the NMS
    settings at any of them)."""
    keys = sorted({(r['iou_threshold'], r['beta']) for r in rows})
    sections = []
    for threshold, beta in keys:
        at = {name: dict(nms, iou_threshold=threshold,
                         **({'beta': beta} if 'beta' in nms else {}))
              for name, nms in settings.items()}
        sections.append(_markdown_section(
            [r for r in rows if (r['iou_threshold'], r['beta']) == (threshold, beta)],
            baseline, other, title, at))
    return '\n'.join(sections)


def _markdown_section(rows: Sequence[Dict], baseline: str, other: str, title: str,
                      settings: Dict[str, dict]) -> str:
    from .doc_tables import format_difference
    metrics = [m for m in [*COLUMNS, *sorted({k for r in rows for k in r
                                             if k.startswith('AP_')})]
               if any(r.get(m) is not None for r in rows)]
    runs = sorted({r['run'] for r in rows})
    lines = [f'# {title}: {other} against {baseline}\n',
             f'The same trained models evaluated twice on the validation split, '
             f'test NMS {settings[baseline]} and then {settings[other]}, everything '
             f'else equal; {len(runs)} runs, each its own pair. Difference '
             f'({other} - {baseline}), 95% interval (Student\'s t over the runs), '
             'p-value and verdict.\n',
             '| metric | mean ' + baseline + ' | mean ' + other + ' | difference |',
             '|---|---|---|---|']
    for metric, difference in compare(rows, baseline, other, metrics):
        means = []
        for name in (baseline, other):
            values = [r[metric] for r in rows if r['nms'] == name
                      and r.get(metric) is not None]
            means.append(f'{sum(values) / len(values):.3f}' if values else '-')
        lines.append(f'| {metric} | {means[0]} | {means[1]} | '
                     f'{format_difference(difference)} |')
    return '\n'.join(lines) + '\n'
