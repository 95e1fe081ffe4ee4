"""Train a detector (MMDetection's tools/train.py, with mmdet_losses' fixes).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]]
        [--cfg-options k=v ...] [--data-root DIR]
        [--launcher none|pytorch|slurm|mpi] [--verbose | --quiet]

Several GPUs or CPU processes: tools/dist_train.sh; a Slurm cluster:
tools/slurm_train.sh. Differences from MMDetection's script: the config is checked
before any data is read (mmdet_losses.engine.doctor; softmax dense heads get their
prior init), checkpoints resume on torch >= 2.6 (mmdet_losses.engine.checkpoint),
multi-process runs work without CUDA (gloo, DDP without device ids;
mmdet_losses_lab.training.dist) and --amp works on the CPU too (bfloat16 autocast;
mmdet_losses.engine.amp). On a terminal it shows what is trained, a progress bar with
the time left and the metrics, and MMEngine's full log goes to the log file in the
work dir only (``--verbose``: on the terminal too, as MMDetection's script does;
``--quiet``: the short view where the output is not a terminal).
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.training.dist import finish_cpu_distributed  # noqa: E402
from mmdet_losses.engine.doctor import ConfigError  # noqa: E402
from mmdet_losses_lab.training.console import quiet_console  # noqa: E402
from mmdet_losses_lab.training.runner import (add_common_arguments,  # noqa: E402
                                              add_console_arguments,
                                              apply_train_options, build_runner,
                                              config_from_args, quiet_wanted)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: float16 on CUDA, bfloat16 autocast '
                        'on the CPU')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='enable automatically scaling LR')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--no-nan-guard', action='store_true',
        help='do not add mmdet_losses.NaNGuardHook (stop at the first non-finite '
        'loss) when the config has none')
    add_common_arguments(parser)
    add_console_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = config_from_args(args)
    apply_train_options(cfg, args.amp, args.auto_scale_lr, args.resume)
    with quiet_console(quiet_wanted(args)) as console:
        runner = build_runner(cfg, console)
        runner.train()
    if console is not None and console.log_file:
        console.echo(f'full log  {console.log_file}')


if __name__ == '__main__':
    try:
        main()
        finish_cpu_distributed()
    except ConfigError as error:
        sys.exit(f'{error}\n(tools/check_config.py prints every finding; '
                 '--skip-config-check runs anyway)')
