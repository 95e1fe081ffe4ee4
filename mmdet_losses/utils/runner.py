"""Config preparation and runner construction for ``tools/train.py``,
``tools/test.py`` and ``tools/demo.py``, following MMDetection's tools."""
import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from .checkpoint import register_safe_globals
from .config import set_data_root
from .dist import setup_cpu_distributed


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``tools/train.py`` and ``tools/test.py`` share:
    ``--cfg-options``, ``--data-root``, ``--launcher`` and ``--local-rank``."""
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


def config_from_args(args: argparse.Namespace) -> Config:
    """The config of a tool run: ``args.config`` with the common options applied
    (see :func:`add_common_arguments`) and the work dir of :func:`load_config`."""
    set_local_rank(args.local_rank)
    # As MMDetection's tools: fewer torch.compile recompilations.
    from mmdet.utils import setup_cache_size_limit_of_dynamo
    setup_cache_size_limit_of_dynamo()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    return cfg


def load_config(config: str,
                work_dir: Optional[str] = None,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none') -> Config:
    """Read ``config`` and apply the options common to training and testing.

    ``work_dir`` is chosen as in MMDetection: the argument, else the config's
    ``work_dir``, else ``./work_dirs/<config name>``.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def apply_train_options(cfg: Config,
                        amp: bool = False,
                        auto_scale_lr: bool = False,
                        resume: Optional[str] = None) -> Config:
    """``--amp``, ``--auto-scale-lr`` and ``--resume`` as in MMDetection's train.py.

    ``resume='auto'`` resumes from the latest checkpoint of the work dir, a path
    from that checkpoint.
    """
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                               'in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the runner after the two fixes the tools need on every machine: the
    checkpoint allow-list (resume on torch >= 2.6) and, without CUDA, the gloo
    process group and CPU DDP wrapper for multi-process launches."""
    register_safe_globals()
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    if 'runner_type' in cfg:
        from mmdet.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def set_local_rank(local_rank: int) -> None:
    """``torch.distributed.launch`` passes ``--local-rank``; torchrun sets the env."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
