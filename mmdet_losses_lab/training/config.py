"""Config edits shared by the tools, the demo and the tests."""
import os.path as osp
from typing import Iterator

from mmengine.config import Config, ConfigDict

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')


def _datasets(loader: ConfigDict) -> Iterator[ConfigDict]:
    """The dataset of a loader and every dataset a wrapper holds."""
    stack = [loader.get('dataset')]
    while stack:
        dataset = stack.pop()
        if isinstance(dataset, dict):
            yield dataset
            stack.append(dataset.get('dataset'))
            stack.extend(dataset.get('datasets', []))


def set_data_root(cfg: Config, data_root: str) -> Config:
    """Point every dataset and COCO evaluator of ``cfg`` at ``data_root``, in place.

    Datasets get ``data_root``; an evaluator ``ann_file`` under the config's old
    ``data_root`` moves with it (the shapes and COCO configs spell it
    ``data_root + 'annotations/...'``).
    """
    data_root = osp.join(data_root, '')
    old_root = cfg.get('data_root')
    for name in LOADERS:
        if cfg.get(name):
            for dataset in _datasets(cfg[name]):
                dataset['data_root'] = data_root
    for name in EVALUATORS:
        evaluators = cfg.get(name)
        if not evaluators:
            continue
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            ann_file = evaluator.get('ann_file')
            if ann_file and old_root and ann_file.startswith(old_root):
                evaluator['ann_file'] = data_root + ann_file[len(old_root):]
    cfg.data_root = data_root
    return cfg


def set_max_iters(cfg: Config, max_iters: int) -> Config:
    """Shorten or lengthen an iteration-based schedule to ``max_iters``, in place.

    The iteration fields of the parameter schedulers (``begin``, ``end``, ``T_max``,
    ``milestones``) scale with it, so a cosine or step schedule keeps its shape;
    evaluation and checkpoint intervals are capped at ``max_iters``.
    """
    if max_iters < 1:
        raise ValueError(f'max_iters must be >= 1, got {max_iters}')
    train_cfg = cfg.train_cfg
    if 'max_iters' not in train_cfg:
        raise ValueError('set_max_iters needs an iteration-based train_cfg '
                         f'(IterBasedTrainLoop), got {train_cfg.get("type")}')
    scale = max_iters / train_cfg.max_iters
    train_cfg.max_iters = max_iters
    if 'val_interval' in train_cfg:
        train_cfg.val_interval = min(train_cfg.val_interval, max_iters)
    schedulers = cfg.get('param_scheduler') or []
    for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
        if scheduler.get('by_epoch', True):
            continue
        for key in ('begin', 'end', 'T_max'):
            if isinstance(scheduler.get(key), int):
                scheduler[key] = int(round(scheduler[key] * scale))
        begin = scheduler.get('begin', 0)
        if isinstance(scheduler.get('end'), int) and scheduler['end'] <= begin:
            scheduler['end'] = begin + 1
        if isinstance(scheduler.get('T_max'), int):
            scheduler['T_max'] = max(scheduler['T_max'], 1)
        if 'milestones' in scheduler:
            scheduler.milestones = [int(round(m * scale))
                                    for m in scheduler.milestones]
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint and not checkpoint.get('by_epoch', True):
        checkpoint.interval = min(checkpoint.interval, max_iters)
    return cfg
