"""DIoU-NMS against NMS on a grid's trained runs (tools/nms_ablation.py): every run
evaluated with both, nothing repeated on a second call, another IoU threshold
evaluated beside the first, and DIoU-NMS with a huge beta (its penalty vanishes)
giving plain NMS's numbers exactly."""
import csv
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest

from train_utils import tiny_grid

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.slow
def test_nms_ablation_on_a_tiny_grid(tmp_path):
    grid = Path(tiny_grid(tmp_path, seeds=('0', '1')))
    tool = [sys.executable, osp.join(ROOT, 'tools/nms_ablation.py'), str(grid)]
    first = subprocess.run(tool + ['--beta', '1e6'], capture_output=True, text=True,
                           cwd=ROOT, timeout=900)
    assert first.returncode == 0, first.stdout + first.stderr
    with open(grid / 'summary_nms.csv') as f:
        rows = list(csv.DictReader(f))
    assert sorted((r['run'], r['nms']) for r in rows) == [
        ('focal_giou_s0', 'diou_nms'), ('focal_giou_s0', 'nms'),
        ('focal_giou_s1', 'diou_nms'), ('focal_giou_s1', 'nms')]
    for row in rows:
        assert 0.0 <= float(row['AP']) <= float(row['AP50']) <= 1.0
        assert 0.0 <= float(row['AR100']) <= 1.0
        assert {'AP_square', 'AP_circle', 'AP_triangle'} <= set(row)
    by = {(r['run'], r['nms']): r for r in rows}
    for run in ('focal_giou_s0', 'focal_giou_s1'):
        for metric in ('AP', 'AP75', 'AR100'):
            assert by[run, 'diou_nms'][metric] == by[run, 'nms'][metric]
    text = (grid / 'summary_nms.md').read_text()
    assert '| AR100 |' in text and '2 runs, each its own pair' in text
    second = subprocess.run(tool + ['--beta', '1e6'], capture_output=True, text=True,
                            cwd=ROOT, timeout=900)
    assert second.returncode == 0 and 'AP ' not in second.stdout.split('#')[0]
    # Before, another threshold was taken for done (the CSV knew runs and names
    # only) and the 0.5 numbers reported under it.
    third = subprocess.run(tool + ['--iou-threshold', '0.3', '--runs', 'focal_giou_s0'],
                           capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert third.returncode == 0, third.stdout + third.stderr
    assert 'focal_giou_s0 nms: AP' in third.stdout
    with open(grid / 'summary_nms.csv') as f:
        rows = list(csv.DictReader(f))
    assert sorted((r['run'], r['nms'], float(r['iou_threshold']), float(r['beta']))
                  for r in rows if float(r['iou_threshold']) == 0.3) == [
        ('focal_giou_s0', 'diou_nms', 0.3, 1.0), ('focal_giou_s0', 'nms', 0.3, 1.0)]
    text = (grid / 'summary_nms.md').read_text()
    assert "{'type': 'nms', 'iou_threshold': 0.3}" in text
    assert "{'type': 'nms', 'iou_threshold': 0.5}" in text
    bad = subprocess.run(tool + ['--nms', 'nms', 'soft_nms'], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode == 2 and "NMS settings must be among" in bad.stderr
