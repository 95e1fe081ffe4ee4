"""Config preparation and runner construction for ``tools/train.py``,
``tools/test.py`` and ``tools/demo.py``, following MMDetection's tools."""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmdet_losses.engine.checkpoint import register_safe_globals
from mmdet_losses.engine.doctor import enforce
from mmdet_losses.engine.init import add_softmax_prior_init

from .config import set_data_root
from .console import QuietConsole
from .dist import setup_cpu_distributed
from .quiet import quiet_warnings


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
    parser.add_argument(
        '--skip-config-check', action='store_true',
        help='do not stop on the config checks (tools/check_config.py)')


def add_console_arguments(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` and ``--quiet``: MMEngine's full log on the terminal, or the
    short view (:mod:`.console`); the log file in the work dir has everything
    either way. Read by :func:`quiet_wanted`."""
    view = parser.add_mutually_exclusive_group()
    view.add_argument('--verbose', action='store_true',
                      help="MMEngine's full log on the terminal too (the "
                      'environment, the config, every logged line)')
    view.add_argument('--quiet', action='store_true',
                      help='the short view (summary, progress bar, metrics) even '
                      'when the output is not a terminal')


def quiet_wanted(args: argparse.Namespace, default: Optional[bool] = None) -> bool:
    """Whether a tool shows the short view: ``--quiet`` or ``--verbose``, else
    ``default``, else whether standard output is a terminal."""
    if args.quiet or args.verbose:
        return args.quiet
    return sys.stdout.isatty() if default is None else default


def config_from_args(args: argparse.Namespace) -> Config:
    """The config of a tool run: ``args.config`` with the common options applied
    (see :func:`add_common_arguments`) and the work dir of :func:`load_config`."""
    quiet_warnings()
    set_local_rank(args.local_rank)
    # As MMDetection's tools: fewer torch.compile recompilations.
    from mmdet.utils import setup_cache_size_limit_of_dynamo
    setup_cache_size_limit_of_dynamo()
    cfg = load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    prepare_config(cfg, check=not getattr(args, 'skip_config_check', False),
                   nan_guard=not getattr(args, 'no_nan_guard', False))
    return cfg


def prepare_config(cfg: Config, check: bool = True, nan_guard: bool = True,
                   echo=print) -> Config:
    """What every tool does to a config before building anything (no data read):
    the softmax prior init for softmax dense heads
    (:func:`~mmdet_losses.engine.init.add_softmax_prior_init`), the NaN guard
    (:func:`add_nan_guard`), then the config
    checks (:mod:`~mmdet_losses.engine.doctor`), which raise
    :class:`~mmdet_losses.engine.doctor.ConfigError` on a wiring mistake."""
    for path in add_softmax_prior_init(cfg):
        echo(f'config: {path} has a softmax loss_cls: SoftmaxPriorInit added to '
             'its init_cfg')
    if nan_guard:
        add_nan_guard(cfg)
    if check:
        enforce(cfg, echo=echo)
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


NAN_GUARD = dict(type='mmdet_losses.NaNGuardHook')


def add_nan_guard(cfg: Config) -> bool:
    """Append :data:`NAN_GUARD` to ``cfg.custom_hooks`` unless a ``NaNGuardHook`` is
    there (with the config's own settings, e.g. ``max_skips``); in place.

    Returns:
        whether the hook was added.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    if any(isinstance(hook, dict) and
           str(hook.get('type', '')).rpartition('.')[2] == 'NaNGuardHook'
           for hook in hooks):
        return False
    cfg.custom_hooks = hooks + [dict(NAN_GUARD)]
    return True


def apply_train_options(cfg: Config,
                        amp: bool = False,
                        auto_scale_lr: bool = False,
                        resume: Optional[str] = None) -> Config:
    """``--amp``, ``--auto-scale-lr`` and ``--resume`` as in MMDetection's train.py;
    ``--amp`` is float16 on CUDA and bfloat16 autocast on the CPU
    (:mod:`~mmdet_losses.engine.amp`).

    ``resume='auto'`` resumes from the latest checkpoint of the work dir, a path
    from that checkpoint.
    """
    if amp:
        from mmengine.device import get_device

        from mmdet_losses.engine.amp import amp_optim_wrapper
        device = get_device()
        if device == 'cpu':
            cfg.optim_wrapper.pop('loss_scale', None)
        cfg.optim_wrapper.update(amp_optim_wrapper(device))
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


def build_runner(cfg: Config, console: Optional[QuietConsole] = None) -> Runner:
    """Build the runner after the two fixes the tools need on every machine: the
    checkpoint allow-list (resume on torch >= 2.6) and, without CUDA, the gloo
    process group and CPU DDP wrapper for multi-process launches. With a
    ``console`` (called within :func:`~.console.quiet_console`), the terminal shows
    its short view of the run and the log file everything."""
    register_safe_globals()
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    if 'runner_type' in cfg:
        from mmdet.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    if console is not None:
        console.attach(runner)
    return runner


def set_local_rank(local_rank: int) -> None:
    """``torch.distributed.launch`` passes ``--local-rank``; torchrun sets the env."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
