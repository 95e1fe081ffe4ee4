"""The side of an ablation run that executes inside its SLURM job.

The job script that :mod:`mmdet_losses.ablation.slurm` submits runs this file by path
(``python .../slurm_job.py RUN_DIR -- COMMAND...``), so it imports nothing but the
standard library: no torch import delays the job, and the run's ``status.json``
records the outcome even when training cannot start at all. It

* marks the run ``running`` (with the job id and host),
* runs ``COMMAND`` (``tools/slurm_train.sh ...``: ``srun`` and the training tasks),
* marks it ``done`` (exit 0), ``failed`` (any other exit) or, when SLURM signals the
  job (``scancel``, the time limit, preemption: SIGTERM, then SIGKILL after
  ``KillWait``), ``interrupted``.

A job killed before it could write (SIGKILL, a node failure) is settled afterwards
from the scheduler's record, see :func:`mmdet_losses.ablation.slurm.refresh_state`.
"""
import contextlib
import fcntl
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Optional

STATUS = 'status.json'
_LOCK = '.status.lock'


@contextlib.contextmanager
def _locked(run_dir: str) -> Iterator[None]:
    """Serialise read-modify-write of ``status.json`` between the submitting host
    and the job (POSIX record locks, which network file systems honour)."""
    with open(osp.join(run_dir, _LOCK), 'a') as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(lock, fcntl.LOCK_UN)


def _read(run_dir: str) -> Dict:
    path = osp.join(run_dir, STATUS)
    if not osp.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def update_status(run_dir: str, only_if_state: Optional[List[str]] = None,
                  replace: bool = False, **fields) -> Dict:
    """Merge ``fields`` into the run's ``status.json`` (other keys are kept; with
    ``replace``, they are dropped) and return the new status; with ``only_if_state``,
    change nothing unless the current state is one of those. The file is replaced
    atomically."""
    with _locked(run_dir):
        status = {} if replace else _read(run_dir)
        if only_if_state is not None and _read(run_dir).get('state') \
                not in only_if_state:
            return _read(run_dir)
        status.update(fields)
        path = osp.join(run_dir, STATUS)
        with open(path + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(status, f)
        os.replace(path + '.tmp', path)
        return status


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
