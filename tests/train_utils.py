"""Helpers of the end-to-end tests: a tiny shapes dataset, a tiny schedule on top of
a shapes config, running the tools as a user would, reading their logs."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PYTHON = sys.executable
SHAPES_CONFIGS = osp.join(ROOT, 'configs', 'shapes')
RETINANET = osp.join(SHAPES_CONFIGS, 'retinanet_r18_fpn_giou_1xb4-1500i_shapes.py')
FCOS = osp.join(SHAPES_CONFIGS, 'fcos_r18_fpn_gn-head_giou_1xb4-1500i_shapes.py')
LOSS_KEYS = {'loss', 'loss_cls', 'loss_bbox'}

TINY_SCHEDULE = """
_base_ = {base!r}
train_dataloader = dict(batch_size={batch}, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval={iters})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end={warmup})
]
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval={checkpoint}, max_keep_ckpts=5))
log_processor = dict(window_size=1)
randomness = dict(seed=0)
# Keep every box: a few iterations in, no score passes the usual 0.05, and the COCO
# metric of an empty result is skipped.
model = dict(test_cfg=dict(score_thr=0.0))
"""


def make_data(out_dir: str, num_train: int = 48, num_val: int = 16) -> str:
    from mmdet_losses_lab.data.shapes import make_shapes

    make_shapes(out_dir, num_train=num_train, num_val=num_val)
    return out_dir


def tiny_config(directory: str, base: str, iters: int, batch: int = 4,
                checkpoint: Optional[int] = None, warmup: int = 5) -> str:
    """A config file in ``directory``: ``base`` with a schedule of ``iters``
    iterations, a log line per iteration, loader processes off."""
    path = osp.join(directory, f'tiny_{osp.basename(base)}')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(TINY_SCHEDULE.format(base=base, iters=iters, batch=batch,
                                     checkpoint=checkpoint or iters,
                                     warmup=min(warmup, iters)))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run(command: Sequence[str], timeout: float = 600,
        env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run a tool from the repository root; fail with its output if it fails."""
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run(list(command), cwd=ROOT, env=full_env, timeout=timeout,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f'{" ".join(command)} exited with {result.returncode}\n'
            f'--- stdout ---\n{result.stdout[-6000:]}\n'
            f'--- stderr ---\n{result.stderr[-6000:]}')
    return result


def train(config: str, work_dir: str, data_root: str, *options: str,
          timeout: float = 600) -> subprocess.CompletedProcess:
    return run([PYTHON, osp.join(ROOT, 'tools', 'train.py'), config,
                '--work-dir', work_dir, '--data-root', data_root, *options],
               timeout=timeout)


def scalars_by_run(work_dir: str) -> List[List[dict]]:
    """The records of each run's ``vis_data/scalars.json`` in ``work_dir``, runs in
    start order."""
    runs = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path, encoding='utf-8') as f:
            runs.append([json.loads(line) for line in f if line.strip()])
    return runs


def scalars(work_dir: str) -> List[dict]:
    return [record for run in scalars_by_run(work_dir) for record in run]


def train_records_by_run(work_dir: str) -> List[List[dict]]:
    return [[r for r in run if 'loss' in r] for run in scalars_by_run(work_dir)]


def train_records(work_dir: str) -> List[dict]:
    return [r for r in scalars(work_dir) if 'loss' in r]


def val_records(work_dir: str) -> List[dict]:
    return [r for r in scalars(work_dir) if 'coco/bbox_mAP' in r]


def tool_test_metrics(work_dir: str) -> List[dict]:
    """The metrics tools/test.py wrote, one dict per run (``<run>/<run>.json``)."""
    metrics = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.json'))):
        if osp.basename(path) == osp.basename(osp.dirname(path)) + '.json':
            with open(path, encoding='utf-8') as f:
                metrics.append(json.load(f))
    return metrics


def log_text(work_dir: str) -> str:
    text = ''
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.log'))):
        with open(path, encoding='utf-8') as f:
            text += f.read()
    return text


def tiny_grid(tmp_path, seeds: Sequence[str] = ('0', )) -> str:
    """A grid of ``tools/ablation.py`` trained for 6 iterations on 16 shapes images
    (focal + GIoU RetinaNet, ``seeds``): the work dir, its runs' final checkpoints
    kept, every box scored (``score_thr`` 0)."""
    from mmdet_losses_lab.data.shapes import make_shapes
    data = osp.join(str(tmp_path), 'shapes')
    make_shapes(data, num_train=16, num_val=8)
    root = f'{data}/'
    options = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
        'default_hooks.checkpoint.interval=6', 'model.test_cfg.score_thr=0.0']
    grid = osp.join(str(tmp_path), 'grid')
    subprocess.run([PYTHON, osp.join(ROOT, 'tools/ablation.py'), RETINANET,
                    '--cls', 'focal', '--reg', 'giou', '--seeds', *seeds,
                    '--work-dir', grid, '--cfg-options', *options],
                   check=True, capture_output=True, cwd=ROOT, timeout=900)
    return grid
