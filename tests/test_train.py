"""End-to-end training on the shapes dataset through tools/train.py: the loss falls
and the COCO metric runs; resume carries the iteration count and optimizer state
(on torch >= 2.6, through the checkpoint allow-list)."""
import glob
import os.path as osp
import re
import subprocess

import numpy as np
import pytest
import torch

from train_utils import (FCOS, LOSS_KEYS, PYTHON, RETINANET, log_text, make_data,
                         tiny_config, train, train_records,
                         train_records_by_run, val_records)

pytestmark = pytest.mark.slow

TORCH_RESTRICTS_LOAD = tuple(int(v) for v in torch.__version__.split('.')[:2]) >= (2, 6)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_data(str(tmp_path_factory.mktemp('shapes')))


@pytest.mark.parametrize('base, iters', [(RETINANET, 30), (FCOS, 20)],
                         ids=['retinanet-giou', 'fcos-giou'])
def test_short_training_learns_and_evaluates(tmp_path, data_root, base, iters):
    config = tiny_config(str(tmp_path), base, iters=iters, warmup=10)
    work_dir = str(tmp_path / 'work')
    result = train(config, work_dir, data_root)

    records = train_records(work_dir)
    assert [r['iter'] for r in records] == list(range(1, iters + 1))
    assert LOSS_KEYS <= set(records[0])
    # FCOS's centre-ness loss sits near its entropy floor; judge the two losses
    # under test.
    # Medians: a from-scratch network at batch 4 has the odd spike.
    losses = np.array([r['loss_cls'] + r['loss_bbox'] for r in records])
    assert np.isfinite(losses).all()
    first, last = np.median(losses[:5]), np.median(losses[-5:])
    assert last < 0.85 * first, f'loss did not fall: {first:.3f} -> {last:.3f}'

    [evaluation] = val_records(work_dir)
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        assert 0.0 <= evaluation[key] <= 1.0
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95' in result.stdout  # pycocotools
    assert 'bbox_mAP_copypaste' in log_text(work_dir)
    assert osp.isfile(osp.join(work_dir, f'iter_{iters}.pth'))


def test_quiet_view_shows_the_run_and_keeps_the_full_log(tmp_path, data_root):
    """``--quiet`` (the default on a terminal): the run's summary, a progress bar,
    the metrics and where the full log is; MMEngine's log file in the work dir
    keeps the environment, the config, the iterations and pycocotools' report."""
    config = tiny_config(str(tmp_path), RETINANET, iters=3)
    work_dir = str(tmp_path / 'work')
    result = train(config, work_dir, data_root, '--quiet')
    lines = result.stdout.splitlines()
    assert len(lines) < 30, result.stdout
    assert lines[0] == 'training  RetinaNet (bbox_head.loss_cls ' \
        'mmdet_losses.FocalLoss, bbox_head.loss_bbox mmdet_losses.GIoULoss)'
    assert lines[1] == f'config    {config}'
    assert re.fullmatch(r'data      48 training images, 16 validation images in .+',
                        lines[2])
    assert lines[3] == 'schedule  3 iterations of 4 images on cpu, evaluation ' \
        'every 3 iterations'
    [log_file] = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert lines[5] == f'full log  {log_file}' and lines[-1] == lines[5]
    assert 'evaluation at iteration 3' in lines
    assert re.search(r'^  coco/bbox_mAP +0\.\d{4}$', result.stdout, re.M)
    assert re.search(r'train: 100%\|.*\| 3/3 \[', result.stderr)
    assert 'Config:' not in result.stdout and 'Iter(train)' not in result.stdout
    assert 'loading annotations' not in result.stdout
    log = log_text(work_dir)
    for text in ('System environment:', 'Config:', 'Iter(train) [3/3]',
                 'loading annotations into memory',
                 'Average Precision  (AP) @[ IoU=0.50:0.95', 'bbox_mAP_copypaste'):
        assert text in log, text


def final_state(path):
    from mmdet_losses.engine.checkpoint import register_safe_globals

    register_safe_globals()
    return torch.load(path, map_location='cpu')


def test_resume_continues_iterations_and_optimizer_state(tmp_path, data_root):
    # Train a 4-iteration schedule, stop after 2, resume; compare with 4 iterations
    # in one go from the same seed. Without the optimizer state (AdamW moments and
    # step count) or the iteration count (learning-rate warm-up, data position) the
    # resumed weights would differ.
    config = tiny_config(str(tmp_path), RETINANET, iters=4, checkpoint=2, warmup=4)
    # Without the random flip: the successor stack's MMEngine (onedl-mmengine 0.10.12)
    # resumes by skipping the sampler's indices instead of loading the batches seen,
    # so the flips drawn after a resume differ from those of a run in one go; only
    # deterministic data compares weight for weight on both stacks.
    with open(config, 'a', encoding='utf-8') as f:
        f.write("train_dataloader.update(dataset=dict(pipeline=[\n"
                "    dict(type='LoadImageFromFile'),\n"
                "    dict(type='LoadAnnotations', with_bbox=True),\n"
                "    dict(type='Resize', scale=(128, 128), keep_ratio=True),\n"
                "    dict(type='PackDetInputs')]))\n")
    resumed_dir, straight_dir = str(tmp_path / 'resumed'), str(tmp_path / 'straight')
    train(config, resumed_dir, data_root, '--cfg-options', 'train_cfg.max_iters=2')
    assert osp.isfile(osp.join(resumed_dir, 'iter_2.pth'))
    train(config, resumed_dir, data_root, '--resume')
    train(config, straight_dir, data_root)

    log = log_text(resumed_dir)
    assert re.search(r'Auto resumed from the latest checkpoint .*iter_2\.pth', log)
    assert 'resumed epoch: 0, iter: 2' in log
    runs = [[r['iter'] for r in run] for run in train_records_by_run(resumed_dir)]
    assert runs == [[1, 2], [3, 4]]

    resumed = final_state(osp.join(resumed_dir, 'iter_4.pth'))
    straight = final_state(osp.join(straight_dir, 'iter_4.pth'))
    assert resumed['meta']['iter'] == straight['meta']['iter'] == 4
    steps = {float(s['step']) for s in resumed['optimizer']['state'].values()}
    assert steps == {4.0}
    history = resumed['message_hub']['log_scalars']['train/loss']
    assert len(history.data[0]) == 4  # the loss history spans both runs
    for name, weight in straight['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][name], weight,
                                   rtol=1e-4, atol=1e-5, msg=name)
    for key, moments in straight['optimizer']['state'].items():
        torch.testing.assert_close(resumed['optimizer']['state'][key]['exp_avg'],
                                   moments['exp_avg'], rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not TORCH_RESTRICTS_LOAD,
                    reason='torch < 2.6 loads checkpoints unrestricted')
def test_checkpoint_needs_the_allow_list(tmp_path, data_root):
    # Pins why mmdet_losses.engine.checkpoint exists: MMEngine's checkpoints do not
    # load with torch's default weights_only=True, and do with the allow-list.
    config = tiny_config(str(tmp_path), RETINANET, iters=1)
    work_dir = str(tmp_path / 'work')
    train(config, work_dir, data_root,
          '--cfg-options', 'train_cfg.val_interval=2')
    checkpoint = osp.join(work_dir, 'iter_1.pth')
    plain = subprocess.run(
        [PYTHON, '-c', f'import torch; torch.load({checkpoint!r})'],
        capture_output=True, text=True, timeout=300)
    assert plain.returncode != 0
    assert 'Weights only load failed' in plain.stderr
    allowed = subprocess.run(
        [PYTHON, '-c',
         'import torch\n'
         'from mmdet_losses.engine.checkpoint import register_safe_globals\n'
         'register_safe_globals()\n'
         f'ck = torch.load({checkpoint!r})\n'
         'print(ck["meta"]["iter"], type(ck["message_hub"]["log_scalars"]'
         '["train/loss"]).__name__)'],
        capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.split() == ['1', 'HistoryBuffer']
