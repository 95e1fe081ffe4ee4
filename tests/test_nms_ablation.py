"""DIoU-NMS against NMS on a grid's trained runs (tools/nms_ablation.py): every run
evaluated with both, nothing repeated on a second call, another IoU threshold
evaluated beside the first, and DIoU-NMS with a huge beta (its penalty vanishes)
giving plain NMS's numbers exactly."""
import csv
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHAPES_GIOU = osp.join(ROOT, 'configs/shapes/retinanet_r18_fpn_giou_1xb4-1500i_shapes.py')


@pytest.mark.slow
def test_nms_ablation_on_a_tiny_grid(tmp_path):
    from mmdet_losses_lab.data.shapes import make_shapes
    data = tmp_path / 'shapes'
    make_shapes(str(data), num_train=16, num_val=8)
    root = f'{data}/'
    options = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
        'default_hooks.checkpoint.interval=6', 'model.test_cfg.score_thr=0.0']
    grid = tmp_path / 'grid'
    subprocess.run([sys.executable, osp.join(ROOT, 'tools/ablation.py'), SHAPES_GIOU,
                    '--cls', 'focal', '--reg', 'giou', '--seeds', '0', '1',
                    '--work-dir', str(grid), '--cfg-options', *options],
                   check=True, capture_output=True, cwd=ROOT, timeout=900)
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
