"""Multi-process training on CPUs through MMEngine's launchers.

MMEngine's ``pytorch``/``slurm`` launchers assume CUDA: ``init_dist`` calls
``torch.cuda.set_device`` and the runner wraps the model in DDP with
``device_ids=[LOCAL_RANK]``. Both fail on a machine without a GPU. On such a machine
:func:`setup_cpu_distributed` starts the gloo process group itself (MMEngine then
skips its own ``init_dist``) and sets ``model_wrapper_cfg`` so that DDP is built with
``device_ids=None``, the form DDP requires for CPU modules. With CUDA present it does
nothing and MMEngine's own path runs unchanged.
"""
import atexit
import datetime
import os
import subprocess
from typing import Optional, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DEFAULT_PORT = '29500'


def slurm_default_port() -> str:
    """``MASTER_PORT`` for a SLURM job that sets none: 20000 plus the job id modulo
    10000, so that two jobs sharing a node do not bind the same port (MMEngine's
    launcher always uses 29500)."""
    job_id = os.environ.get('SLURM_JOB_ID', '')
    return str(20000 + int(job_id) % 10000) if job_id.isdigit() else DEFAULT_PORT


def _slurm_env() -> Tuple[int, int, int]:
    """Rank, world size and local rank of a ``srun`` task; sets MASTER_ADDR/PORT
    the way MMEngine's slurm launcher does."""
    rank = int(os.environ['SLURM_PROCID'])
    world_size = int(os.environ['SLURM_NTASKS'])
    local_rank = int(os.environ.get('SLURM_LOCALID', 0))
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        first_host = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
        os.environ['MASTER_ADDR'] = first_host
    os.environ.setdefault('MASTER_PORT', slurm_default_port())
    return rank, world_size, local_rank


def _mpi_env() -> Tuple[int, int, int]:
    """Rank, world size and local rank of an Open MPI process; MASTER_ADDR must be
    set by the user (as for MMEngine's mpi launcher)."""
    rank = int(os.environ['OMPI_COMM_WORLD_RANK'])
    world_size = int(os.environ['OMPI_COMM_WORLD_SIZE'])
    local_rank = int(os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('the mpi launcher needs MASTER_ADDR in the environment')
    os.environ.setdefault('MASTER_PORT', DEFAULT_PORT)
    return rank, world_size, local_rank


def _process_env(launcher: str) -> Tuple[int, int, int]:
    if launcher == 'pytorch':  # torchrun / torch.distributed.launch set these
        return (int(os.environ['RANK']), int(os.environ['WORLD_SIZE']),
                int(os.environ.get('LOCAL_RANK', 0)))
    if launcher == 'slurm':
        return _slurm_env()
    return _mpi_env()


def setup_cpu_distributed(cfg: Config, launcher: str,
                          timeout_s: Optional[float] = None) -> bool:
    """Prepare a multi-process run on CPUs (see the module docstring).

    Args:
        cfg: the training or test config; its ``env_cfg.dist_cfg.backend`` and
            ``model_wrapper_cfg`` are updated in place.
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        timeout_s: process-group timeout; default ``env_cfg.dist_cfg.timeout`` or
            torch's.

    Returns:
        ``True`` if this call started a gloo process group for a CPU run.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'

    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None  # DDP of a CPU module: no device list
    cfg.model_wrapper_cfg = wrapper

    if torch_dist.is_initialized():
        return False
    rank, world_size, local_rank = _process_env(launcher)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(local_rank))
    timeout_s = timeout_s if timeout_s is not None else dist_cfg.get('timeout')
    kwargs = {}
    if timeout_s is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout_s)
    torch_dist.init_process_group(
        backend='gloo', rank=rank, world_size=world_size, **kwargs)
    atexit.register(destroy_cpu_distributed)
    return True


def destroy_cpu_distributed() -> None:
    """Destroy the gloo process group before the interpreter exits.

    A gloo group still alive when Python shuts down is torn down by C++ static
    destructors while its threads are joinable, which aborts the process
    (``terminate called without an active exception``, SIGABRT) after a run that
    otherwise succeeded: torchrun then reports the run as failed. Registered with
    :mod:`atexit` by :func:`setup_cpu_distributed`; a no-op once destroyed.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def finish_cpu_distributed() -> None:
    """End a multi-process CPU run that succeeded: wait for every rank (so that no
    rank tears its connections down while another still uses them), then destroy
    the gloo group. Nothing happens in a single-process run or under CUDA, where
    MMEngine's own set-up is in charge."""
    if (torch_dist.is_available() and torch_dist.is_initialized()
            and torch_dist.get_backend() == 'gloo' and not torch.cuda.is_available()):
        torch_dist.barrier()
        destroy_cpu_distributed()
