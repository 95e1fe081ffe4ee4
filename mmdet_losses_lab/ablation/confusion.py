r"""What telling the classes apart costs each trained run of a grid: COCO's AP with
and without the confusions between classes.

Each finished run's final checkpoint is tested again on the validation split
(:mod:`.retest`) and its detections written out. On them COCO's box AP is computed
twice with pycocotools:

* **as labelled**: the usual metric, per class and averaged over the classes;
* **confusions forgiven**: every detection whose box overlaps a ground-truth box of
  its image at IoU :math:`\ge` ``iou_threshold`` (0.5) takes the label of the one it
  overlaps most, and the metric is computed again. A box found in the right place
  with the wrong class then counts as found; a box on the background stays a false
  positive and a missed object stays missed.

The difference, forgiven - as labelled, is the AP a model loses to classifying what
it found wrongly; what it still lacks when forgiven is in finding and placing the
boxes. Two losses that differ in AP differ in the one, the other or both: compared
seed by seed (:mod:`.stats`), as labelled and forgiven, against a baseline setting.

Writes ``summary_confusion.csv`` (one row per run) and ``summary_confusion.md``.
"""
import contextlib
import csv
import io
import json
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from .retest import retest_run
from .stats import paired_difference

METRICS = ('AP', 'AP50', 'AP75')
FORGIVEN = tuple(f'{m}_forgiven' for m in METRICS)
FIELDS = ('run', 'setting', 'seed', 'iou_threshold', *METRICS, *FORGIVEN)
_SEED = re.compile(r'^(.*)_s(\d+)$')


def relabel_to_ground_truth(ground_truth: Dict, detections: Sequence[Dict],
                            iou_threshold: float = 0.5) -> List[Dict]:
    """``detections`` (COCO results: ``image_id``, ``bbox`` as x, y, w, h,
    ``category_id``, ``score``) with each one's ``category_id`` replaced by that of
    the ground-truth box of its image it overlaps most, where that IoU is at least
    ``iou_threshold``; crowd boxes are not matched. A new list; the rest unchanged."""
    from pycocotools import mask as mask_utils

    boxes: Dict[int, List[Dict]] = {}
    for annotation in ground_truth['annotations']:
        if not annotation.get('iscrowd', 0):
            boxes.setdefault(annotation['image_id'], []).append(annotation)
    out = []
    for detection in detections:
        detection = dict(detection)
        candidates = boxes.get(detection['image_id'], [])
        if candidates:
            ious = mask_utils.iou([detection['bbox']], [a['bbox'] for a in candidates],
                                  [0] * len(candidates))[0]
            best = int(ious.argmax())
            if ious[best] >= iou_threshold:
                detection['category_id'] = candidates[best]['category_id']
        out.append(detection)
    return out


def coco_ap(ground_truth: Dict, detections: Sequence[Dict]) -> Dict[str, float]:
    """COCO box AP, AP50 and AP75 of ``detections`` (pycocotools, its output
    silenced); 0 for no detection."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not detections:
        return {m: 0.0 for m in METRICS}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = ground_truth
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(list(detections)), 'bbox')
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return dict(zip(METRICS, (float(v) for v in evaluation.stats[:3])))


def split_run_name(run: str) -> tuple:
    """``('focal_giou', 0)`` for ``focal_giou_s0``; ``(run, None)`` without a seed."""
    found = _SEED.match(run)
    return (found.group(1), int(found.group(2))) if found else (run, None)


def evaluate_run(run_dir: str, iou_threshold: float = 0.5) -> Dict:
    """One row: the run's AP as labelled and with its confusions forgiven."""
    from mmengine.config import Config

    work_dir = osp.join(run_dir, 'test_confusion')
    prefix = osp.join(work_dir, 'detections')
    retest_run(run_dir, work_dir, outfile_prefix=prefix)
    ann_file = Config.fromfile(osp.join(run_dir, 'config.py')).val_evaluator.ann_file
    with open(ann_file, encoding='utf-8') as f:
        ground_truth = json.load(f)
    with open(f'{prefix}.bbox.json', encoding='utf-8') as f:
        detections = json.load(f)
    run = osp.basename(osp.normpath(run_dir))
    setting, seed = split_run_name(run)
    row = {'run': run, 'setting': setting, 'seed': seed,
           'iou_threshold': float(iou_threshold)}
    row.update(coco_ap(ground_truth, detections))
    forgiven = coco_ap(ground_truth, relabel_to_ground_truth(ground_truth, detections,
                                                              iou_threshold))
    row.update({f'{m}_forgiven': v for m, v in forgiven.items()})
    return row


def read_rows(path: str) -> List[Dict]:
    if not osp.isfile(path):
        return []
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row['seed'] = int(row['seed']) if row['seed'] not in ('', None) else None
        for name in ('iou_threshold', *METRICS, *FORGIVEN):
            row[name] = float(row[name])
    return rows


def write_rows(path: str, rows: Sequence[Dict]) -> None:
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


def _by_seed(rows: Sequence[Dict], setting: str, metric: str) -> Dict[int, float]:
    return {r['seed']: r[metric] for r in rows
            if r['setting'] == setting and r['seed'] is not None}


def _cost(rows: Sequence[Dict], setting: str, metric: str) -> Dict[int, float]:
    forgiven = _by_seed(rows, setting, f'{metric}_forgiven')
    return {s: forgiven[s] - v for s, v in _by_seed(rows, setting, metric).items()}


def markdown(rows: Sequence[Dict], baseline: Optional[str], title: str) -> str:
    """Each setting's mean AP as labelled and forgiven, and each setting against
    ``baseline`` paired by seed: the difference as labelled, forgiven, and of the
    cost of confusions."""
    from .doc_tables import format_difference

    settings = list(dict.fromkeys(r['setting'] for r in rows))
    threshold = ', '.join(sorted({f'{r["iou_threshold"]:g}' for r in rows}))
    lines = [f'# {title}: AP as labelled and with the confusions between classes '
             'forgiven\n',
             'Forgiven: a detection overlapping a ground-truth box at IoU >= '
             f'{threshold} takes that box\'s class. Cost of confusions: forgiven - as '
             'labelled. Means over the seeds.\n',
             '| setting | seeds | AP | AP forgiven | cost | AP75 | AP75 forgiven | cost |',
             '|---|---|---|---|---|---|---|---|']
    for setting in settings:
        cells = []
        for metric in ('AP', 'AP75'):
            labelled = list(_by_seed(rows, setting, metric).values())
            forgiven = list(_by_seed(rows, setting, f'{metric}_forgiven').values())
            mean = lambda v: sum(v) / len(v)  # noqa: E731
            cells += [f'{mean(labelled):.3f}', f'{mean(forgiven):.3f}',
                      f'{mean(forgiven) - mean(labelled):+.3f}']
        count = len(_by_seed(rows, setting, 'AP'))
        lines.append(f'| {setting} | {count} | ' + ' | '.join(cells) + ' |')
    if baseline in settings:
        lines += ['', f'## Against {baseline}, paired by seed\n',
                  'Difference (setting - baseline), 95% interval (Student\'s t over '
                  'the seeds), p-value and verdict.\n',
                  '| setting | metric | as labelled | forgiven | cost of confusions |',
                  '|---|---|---|---|---|']
        for setting in settings:
            if setting == baseline:
                continue
            for metric in ('AP', 'AP75'):
                labelled = paired_difference(_by_seed(rows, baseline, metric),
                                             _by_seed(rows, setting, metric))
                forgiven = paired_difference(
                    _by_seed(rows, baseline, f'{metric}_forgiven'),
                    _by_seed(rows, setting, f'{metric}_forgiven'))
                cost = paired_difference(_cost(rows, baseline, metric),
                                         _cost(rows, setting, metric))
                lines.append(f'| {setting} | {metric} | {format_difference(labelled)} '
                             f'| {format_difference(forgiven)} '
                             f'| {format_difference(cost)} |')
    return '\n'.join(lines) + '\n'
