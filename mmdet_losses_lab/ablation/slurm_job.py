"""The side of an ablation run that executes inside its SLURM job.

The job script that :mod:`mmdet_losses_lab.ablation.slurm` submits runs this file by path
(``python .../slurm_job.py RUN_DIR -- COMMAND...``), so it imports nothing but the
standard library and :mod:`.store` (standard library too): no torch import delays the
job, and the run's ``status.json`` records the outcome even when training cannot
start at all. It

* marks the run ``running`` (with the job id and host),
* runs ``COMMAND`` (``tools/slurm_train.sh ...``: ``srun`` and the training tasks),
* marks it ``done`` (exit 0), ``failed`` (any other exit) or, when SLURM signals the
  job (``scancel``, the time limit, preemption: SIGTERM, then SIGKILL after
  ``KillWait``), ``interrupted``.

A job killed before it could write (SIGKILL, a node failure) is settled afterwards
from the scheduler's record, see :func:`mmdet_losses_lab.ablation.slurm.refresh_state`.
"""
import contextlib
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

if __package__:
    from .store import update_status
else:  # run by path inside the job: the package's __init__ would import torch
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from store import update_status  # noqa: E402


class _Signalled(Exception):
    pass


def _raise_signalled(signum, frame):
    raise _Signalled(signum)


def run_job(run_dir: str, command: List[str]) -> int:
    """Run ``command`` and record its outcome in ``run_dir/status.json``."""
    start = time.time()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(signum, _raise_signalled)
    update_status(run_dir, state='running', job_id=os.environ.get('SLURM_JOB_ID'),
                  host=socket.gethostname(), returncode=None, seconds=None)
    process = None
    try:
        process = subprocess.Popen(command)
        returncode = process.wait()
    except _Signalled as signalled:
        signum = signalled.args[0]
        if process is not None:
            # SLURM signals every process of the job; pass it on regardless, and
            # wait for the tasks so that nothing outlives the record.
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(_Signalled):
                process.wait()
        update_status(run_dir, state='interrupted', returncode=None,
                      signal=signal.Signals(signum).name,
                      seconds=round(time.time() - start, 1))
        print(f'{osp.basename(run_dir)}: interrupted by '
              f'{signal.Signals(signum).name}; run the grid again to redo it',
              flush=True)
        return 128 + signum
    state = 'done' if returncode == 0 else 'failed'
    update_status(run_dir, state=state, returncode=returncode,
                  seconds=round(time.time() - start, 1))
    return returncode


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != '--':
        print('usage: slurm_job.py RUN_DIR -- COMMAND...', file=sys.stderr)
        return 2
    return run_job(argv[0], argv[2:])


if __name__ == '__main__':
    sys.exit(main())
