"""A hook for tests/test_slurm.py: each training process writes the rank and world
size it runs with, and what the other processes told it over the process group, to
``<work_dir>/rank<r>.json``; imported through ``custom_imports``."""
import json
import os
import os.path as osp

from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankProbeHook(Hook):

    def before_train(self, runner) -> None:
        rank, world_size = get_rank(), get_world_size()
        # every rank's (rank, world size), exchanged over the real process group
        gathered = all_gather_object([rank, world_size])
        record = dict(rank=rank, world_size=world_size, gathered=gathered,
                      **{key: os.environ.get(key) for key in (
                          'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_JOB_ID',
                          'MASTER_ADDR', 'MASTER_PORT')})
        with open(osp.join(runner.work_dir, f'rank{rank}.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(record, f)
