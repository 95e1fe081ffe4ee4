"""Train a detector (MMDetection's tools/train.py, with mmdet_losses' fixes).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]]
        [--cfg-options k=v ...] [--data-root DIR]
        [--launcher none|pytorch|slurm|mpi]

Several GPUs or CPU processes: tools/dist_train.sh; a Slurm cluster:
tools/slurm_train.sh. Differences from MMDetection's script: checkpoints resume on
torch >= 2.6 (mmdet_losses.utils.checkpoint) and multi-process runs work without CUDA
(gloo, DDP without device ids; mmdet_losses.utils.dist).
"""
import argparse
import os
import sys

from mmengine.config import DictAction

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmdet_losses.utils.config import set_data_root  # noqa: E402
from mmdet_losses.utils.runner import (apply_train_options,  # noqa: E402
                                       build_runner, load_config,
                                       set_local_rank)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='enable automatically scaling LR')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_cfg.max_iters=100 optim_wrapper.optimizer.lr=0.01')
    parser.add_argument(
        '--data-root',
        help='move every dataset and COCO evaluator of the config to this root')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    set_local_rank(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    # As MMDetection's tools: fewer torch.compile recompilations.
    from mmdet.utils import setup_cache_size_limit_of_dynamo
    setup_cache_size_limit_of_dynamo()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    apply_train_options(cfg, args.amp, args.auto_scale_lr, args.resume)
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
