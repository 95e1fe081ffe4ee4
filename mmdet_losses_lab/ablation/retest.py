"""A grid's trained runs tested again: each finished run's final checkpoint on its
validation split, with a change of the test settings (another NMS, another
evaluator option) and nothing else (:mod:`.nms`, :mod:`.confusion`)."""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from .store import STATUS, read_status


def final_checkpoint(run_dir: str) -> Optional[str]:
    """The checkpoint MMEngine wrote last (``last_checkpoint``), if it exists."""
    marker = osp.join(run_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    path = path if osp.isabs(path) else osp.join(run_dir, path)
    if not osp.isfile(path):  # the grid folder moved: the file beside the marker
        path = osp.join(run_dir, osp.basename(path))
    return path if osp.isfile(path) else None


def finished_runs(grid_dir: str, names: Optional[Sequence[str]] = None) -> List[str]:
    """The runs of ``grid_dir`` that are done and keep a final checkpoint."""
    candidates = names or sorted(
        d for d in os.listdir(grid_dir) if osp.isfile(osp.join(grid_dir, d, STATUS)))
    return [n for n in candidates
            if read_status(osp.join(grid_dir, n)).get('state') == 'done'
            and final_checkpoint(osp.join(grid_dir, n))]


def grid_parser(doc: str) -> argparse.ArgumentParser:
    """The command line every retest tool starts from: the grid's work dir and
    ``--runs``; ``doc`` the tool's docstring (its first paragraph the description)."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    parser.add_argument('grid_dir', help='the work dir of a tools/ablation.py grid')
    parser.add_argument('--runs', nargs='+', help='default: every finished run')
    return parser


def runs_to_test(grid_dir: str, names: Optional[Sequence[str]]) -> List[str]:
    """:func:`finished_runs`; with none, the error a tool prints (it then exits 2)."""
    if not osp.isdir(grid_dir):
        print(f'error: grid_dir {grid_dir!r} is not a folder: pass the --work-dir of '
              'a tools/ablation.py grid', file=sys.stderr)
        return []
    runs = finished_runs(grid_dir, names)
    if not runs:
        print(f'error: no finished run with a checkpoint in {grid_dir}',
              file=sys.stderr)
    return runs


def retest_run(run_dir: str, work_dir: str, nms: Optional[dict] = None,
             **evaluator) -> Dict[str, float]:
    """The run's final checkpoint on its validation split, ``nms`` (if given) as the
    test NMS and ``evaluator`` added to its validation evaluator's options;
    ``{metric key: value}`` as the evaluator returns it."""
    from mmengine.config import Config

    from mmdet_losses_lab.training.runner import build_runner, prepare_config

    cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.load_from = final_checkpoint(run_dir)
    cfg.resume = False
    if nms is not None:
        cfg.model.test_cfg.nms = dict(nms)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = dict(cfg.val_evaluator, **evaluator)
    prepare_config(cfg, echo=lambda _: None)
    runner = build_runner(cfg)
    return dict(runner.test())
