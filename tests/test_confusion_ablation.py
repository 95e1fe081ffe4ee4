"""What confusing the classes costs a trained run (tools/confusion_ablation.py): the
relabelling of detections to the class of the ground truth they overlap, COCO AP as
labelled and forgiven on hand-made detections, the paired comparison, and the tool
on a tiny trained grid (its AP as labelled equal to the run's own evaluation)."""
import csv
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest

from train_utils import tiny_grid

from mmdet_losses_lab.ablation import confusion

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def ground_truth():
    """Two images, a cell of class 1 in the first and one of class 2 in the second,
    and a crowd region of class 2 in the first."""
    return {
        'images': [{'id': 1, 'width': 100, 'height': 100},
                   {'id': 2, 'width': 100, 'height': 100}],
        'categories': [{'id': 1, 'name': 'a'}, {'id': 2, 'name': 'b'}],
        'annotations': [
            {'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [10, 10, 20, 20],
             'area': 400, 'iscrowd': 0},
            {'id': 2, 'image_id': 2, 'category_id': 2, 'bbox': [50, 50, 20, 20],
             'area': 400, 'iscrowd': 0},
            {'id': 3, 'image_id': 1, 'category_id': 2, 'bbox': [60, 60, 30, 30],
             'area': 900, 'iscrowd': 1}]}


def test_detections_take_the_class_of_the_box_they_overlap():
    detections = [
        # on image 2's box (IoU 1), labelled 1: takes class 2
        {'image_id': 2, 'bbox': [50, 50, 20, 20], 'category_id': 1, 'score': 0.8},
        # IoU 100 / 700 = 0.14 with image 1's box: below 0.5, kept
        {'image_id': 1, 'bbox': [20, 20, 20, 20], 'category_id': 2, 'score': 0.7},
        # on the crowd region only: crowd boxes are not matched, kept
        {'image_id': 1, 'bbox': [60, 60, 30, 30], 'category_id': 1, 'score': 0.6},
        # inside image 1's box: IoU 18 * 18 / (20 * 20) = 0.81
        {'image_id': 1, 'bbox': [11, 11, 18, 18], 'category_id': 2, 'score': 0.5}]
    relabelled = confusion.relabel_to_ground_truth(ground_truth(), detections)
    assert [d['category_id'] for d in relabelled] == [2, 2, 1, 1]
    assert [d['category_id'] for d in detections] == [1, 2, 1, 2]  # not modified
    # at a threshold above 0.81 the last one keeps its label
    assert confusion.relabel_to_ground_truth(ground_truth(), detections, 0.9)[3][
        'category_id'] == 2


def test_ap_as_labelled_and_forgiven():
    """Both objects found exactly, the second with the wrong class: class 1 has
    its object first in rank (AP 1), class 2 nothing (AP 0), so 0.5 as labelled;
    forgiven, 1.0."""
    truth = ground_truth()
    detections = [
        {'image_id': 1, 'bbox': [10, 10, 20, 20], 'category_id': 1, 'score': 0.9},
        {'image_id': 2, 'bbox': [50, 50, 20, 20], 'category_id': 1, 'score': 0.8}]
    assert confusion.coco_ap(truth, detections) == pytest.approx(
        {'AP': 0.5, 'AP50': 0.5, 'AP75': 0.5})
    forgiven = confusion.coco_ap(truth, confusion.relabel_to_ground_truth(truth,
                                                                          detections))
    assert forgiven == pytest.approx({'AP': 1.0, 'AP50': 1.0, 'AP75': 1.0})
    assert confusion.coco_ap(truth, []) == {'AP': 0.0, 'AP50': 0.0, 'AP75': 0.0}


def test_settings_are_compared_as_labelled_forgiven_and_by_cost():
    """CE loses 0.05 AP to confusions in each seed, focal 0.01; as labelled CE is
    0.02 ahead, forgiven 0.06."""
    rows = []
    for seed, (focal, ce) in enumerate([(0.50, 0.52), (0.54, 0.56), (0.52, 0.54)]):
        rows.append(dict(run=f'focal_s{seed}', setting='focal', seed=seed,
                         iou_threshold=0.5, AP=focal, AP50=0.0, AP75=focal,
                         AP_forgiven=focal + 0.01, AP50_forgiven=0.0,
                         AP75_forgiven=focal + 0.01))
        rows.append(dict(run=f'ce_s{seed}', setting='ce', seed=seed, iou_threshold=0.5,
                         AP=ce, AP50=0.0, AP75=ce, AP_forgiven=ce + 0.05,
                         AP50_forgiven=0.0, AP75_forgiven=ce + 0.05))
    text = confusion.markdown(rows, 'focal', 'grid')
    assert '| focal | 3 | 0.520 | 0.530 | +0.010 |' in text
    assert '| ce | 3 | 0.540 | 0.590 | +0.050 |' in text
    line = next(l for l in text.splitlines() if l.startswith('| ce | AP |'))
    labelled, forgiven, cost = [c.strip() for c in line.split('|')[3:6]]
    assert labelled.startswith('+0.020 [+0.020, +0.020]') and labelled.endswith('better')
    assert forgiven.startswith('+0.060') and cost.startswith('+0.040')
    assert confusion.split_run_name('focal_giou_s12') == ('focal_giou', 12)
    assert confusion.split_run_name('baseline') == ('baseline', None)


@pytest.mark.slow
def test_the_tool_on_a_tiny_grid(tmp_path):
    grid = Path(tiny_grid(tmp_path))
    tool = [sys.executable, osp.join(ROOT, 'tools/confusion_ablation.py'), str(grid),
            '--baseline', 'focal_giou']
    first = subprocess.run(tool, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    with open(grid / 'summary_confusion.csv') as f:
        rows = list(csv.DictReader(f))
    assert [(r['run'], r['setting'], r['seed']) for r in rows] == [
        ('focal_giou_s0', 'focal_giou', '0')]
    with open(grid / 'runs.json') as f:
        record = json.load(f)['runs']['focal_giou_s0']['records'][-1]
    # the same model, images and NMS as the run's own evaluation (rounded to 3)
    assert float(rows[0]['AP']) == pytest.approx(record['coco/bbox_mAP'], abs=5e-4)
    assert float(rows[0]['AP75']) == pytest.approx(record['coco/bbox_mAP_75'],
                                                   abs=5e-4)
    for name in ('AP_forgiven', 'AP50_forgiven', 'AP75_forgiven'):
        assert 0.0 <= float(rows[0][name]) <= 1.0
    assert '| focal_giou | 1 |' in (grid / 'summary_confusion.md').read_text()
    detections = grid / 'focal_giou_s0' / 'test_confusion' / 'detections.bbox.json'
    written = detections.stat().st_mtime_ns
    again = subprocess.run(tool, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert again.returncode == 0
    assert detections.stat().st_mtime_ns == written  # not evaluated again
    bad = subprocess.run(tool + ['--iou-threshold', '1.5'], capture_output=True,
                         text=True, cwd=ROOT, timeout=900)
    assert bad.returncode == 2 and '--iou-threshold must be in (0, 1], got 1.5' in \
        bad.stderr


def test_a_missing_grid_is_named(tmp_path):
    missing = tmp_path / 'nowhere'
    for tool in ('confusion_ablation.py', 'nms_ablation.py'):
        result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', tool),
                                 str(missing)], capture_output=True, text=True,
                                cwd=ROOT, timeout=300)
        assert result.returncode == 2
        assert f"error: grid_dir '{missing}' is not a folder" in result.stderr
        assert 'Traceback' not in result.stderr
