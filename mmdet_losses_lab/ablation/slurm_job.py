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
  ``KillWait``), ``interrupted``, also when the training died of its own signal a
  moment before this process received its one (:data:`SIGNAL_GRACE_S`).

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


# How long a job whose training exited non-zero waits for SLURM's signal before it
# calls the exit a failure. ``scancel`` and the time limit signal every step of the job,
# the training step and this (batch) step, in no set order: the training may die of its
# SIGTERM, and exit non-zero, a moment before this process receives its own.
SIGNAL_GRACE_S = 5.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


def run_job(run_dir: str, command: List[str],
            signal_grace_s: float = SIGNAL_GRACE_S) -> int:
    """Run ``command`` and record its outcome in ``run_dir/status.json``.

    A signal (:data:`_SIGNALS`) received while ``command`` runs, or within
    ``signal_grace_s`` after it exited non-zero, is passed on to ``command`` and makes
    the run ``interrupted``; otherwise exit 0 is ``done`` and any other exit ``failed``.
    """
    start = time.time()
    received: List[int] = []
    process: Optional[subprocess.Popen] = None

    def on_signal(signum, frame):
        received.append(signum)
        if process is not None and process.poll() is None:
            # SLURM signals every process of the job; pass it on regardless, and
            # wait for the tasks so that nothing outlives the record.
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)

    for signum in _SIGNALS:
        signal.signal(signum, on_signal)
    update_status(run_dir, state='running', job_id=os.environ.get('SLURM_JOB_ID'),
                  host=socket.gethostname(), returncode=None, seconds=None)
    if not received:
        process = subprocess.Popen(command)
        if received:  # signalled while it started
            process.send_signal(signal.SIGTERM)
        returncode = process.wait()
        deadline = time.time() + signal_grace_s
        while returncode != 0 and not received and time.time() < deadline:
            time.sleep(0.05)
    if received:
        name = signal.Signals(received[0]).name
        update_status(run_dir, state='interrupted', returncode=None, signal=name,
                      seconds=round(time.time() - start, 1))
        print(f'{osp.basename(run_dir)}: interrupted by {name}; run the grid again '
              'to redo it', flush=True)
        return 128 + received[0]
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
