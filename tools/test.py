"""Test (and evaluate) a detector (MMDetection's tools/test.py, with mmdet_losses'
fixes: checkpoints load on torch >= 2.6, multi-process runs work without CUDA).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
        [--cfg-options k=v ...] [--data-root DIR]
        [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.training.dist import finish_cpu_distributed  # noqa: E402
from mmdet_losses.engine.doctor import ConfigError  # noqa: E402
from mmdet_losses_lab.training.runner import (add_common_arguments,  # noqa: E402
                                       build_runner, config_from_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation metrics')
    parser.add_argument('--out', help='dump predictions to a .pkl file')
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl or .pickle file, got {args.out}')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = config_from_args(args)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg)
    if args.out is not None:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    return runner.test()


if __name__ == '__main__':
    try:
        main()
        finish_cpu_distributed()
    except ConfigError as error:
        sys.exit(f'{error}\n(tools/check_config.py prints every finding; '
                 '--skip-config-check runs anyway)')
