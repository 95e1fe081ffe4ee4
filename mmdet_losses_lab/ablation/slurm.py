"""Running the grid on a SLURM cluster: one ``sbatch`` job per run.

Each run's job script (``<run dir>/job.sh``, which can be resubmitted by hand) asks for
the run's tasks, GPUs, CPUs and time limit and runs ``tools/slurm_train.sh`` (one
``srun`` step of ``tools/train.py --launcher slurm``) under
:mod:`~mmdet_losses_lab.ablation.slurm_job`, which records the outcome in the run's
``status.json``. The life of a run's status:

``submitted`` (with ``job_id``) -> ``running`` -> ``done`` | ``failed`` |
``interrupted``

A run is resubmitted when the grid is launched again unless it is ``done`` or its job is
still queued or running (then it is waited for, not submitted twice). A job that ended
without writing its outcome (killed with SIGKILL, cancelled while pending, a node
failure) is settled from the scheduler's record by :func:`refresh_state`: cancelled,
timed out, preempted or unknown -> ``interrupted`` (redone next time), failed ->
``failed``.
"""
import os.path as osp
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence

from .store import read_status, update_status

JOB_SCRIPT = 'job.sh'
_WRAPPER = osp.join(osp.dirname(osp.abspath(__file__)), 'slurm_job.py')
# States the job itself writes, and what a job that is gone without writing one was.
UNFINISHED = ('submitted', 'running')
_FAILED_JOB_STATES = ('FAILED', 'OUT_OF_MEMORY', 'BOOT_FAIL')


class SlurmError(RuntimeError):
    """A SLURM command failed (no cluster answers, a bad request)."""


@dataclass
class SlurmOptions:
    """What every run's job asks for.

    Args:
        partition: the partition to submit to (``sbatch -p``).
        gpus: GPUs per run, one task per GPU; 0 trains on CPUs (no ``--gres``).
        tasks: training processes per run; default one per GPU, 1 on CPUs.
        gpus_per_node: at most this many GPUs (tasks) of a run per node; default
            ``min(gpus, 8)``.
        cpus_per_task: CPUs of each task (data loading workers, OpenMP threads).
        time: the time limit of each job (``sbatch --time``: ``4:00:00``,
            ``1-00:00:00``); a run stopped by it is ``interrupted``.
        sbatch_args: further ``sbatch`` options (``--qos=...``, ``--account=...``).
    """
    partition: str
    gpus: int = 1
    tasks: Optional[int] = None
    gpus_per_node: Optional[int] = None
    cpus_per_task: int = 5
    time: Optional[str] = None
    sbatch_args: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self):
        if not self.partition:
            raise ValueError('the slurm launcher needs a partition, got '
                             f'{self.partition!r}')
        for name in ('gpus', 'tasks', 'gpus_per_node', 'cpus_per_task'):
            value = getattr(self, name)
            minimum = 0 if name == 'gpus' else 1
            if value is not None and (not isinstance(value, int) or value < minimum):
                raise ValueError(f'{name} must be an integer >= {minimum}, got '
                                 f'{value!r}')
        if self.gpus and self.tasks is not None and self.tasks != self.gpus:
            raise ValueError(f'tasks must equal gpus on a GPU run (one task per GPU), '
                             f'got tasks={self.tasks} and gpus={self.gpus}')

    @property
    def num_tasks(self) -> int:
        return self.gpus or self.tasks or 1

    @property
    def tasks_per_node(self) -> int:
        """GPUs (= tasks) per node on a GPU run; 0 on CPUs (SLURM places them)."""
        if not self.gpus:
            return 0
        return min(self.gpus, self.gpus_per_node or 8)


def job_script(job_name: str, run_dir: str, command: Sequence[str],
               options: SlurmOptions, python: str = sys.executable) -> str:
    """The ``sbatch`` script of one run: its resources as ``#SBATCH`` lines, the
    environment ``tools/slurm_train.sh`` reads, the training under the status
    wrapper."""
    run_dir = osp.abspath(run_dir)
    sbatch = [f'--job-name={job_name}', f'--partition={options.partition}',
              f'--output={osp.join(run_dir, "train.log")}',
              f'--ntasks={options.num_tasks}',
              f'--cpus-per-task={options.cpus_per_task}']
    if options.gpus:
        sbatch += [f'--ntasks-per-node={options.tasks_per_node}',
                   f'--gres=gpu:{options.tasks_per_node}']
    if options.time:
        sbatch.append(f'--time={options.time}')
    sbatch += list(options.sbatch_args)
    wrapped = [python, _WRAPPER, run_dir, '--', *command]
    lines = ['#!/usr/bin/env bash', *(f'#SBATCH {arg}' for arg in sbatch),
             '# Written by tools/ablation.py --launcher slurm; sbatch it again to redo '
             'this run by hand.',
             f'export GPUS={options.num_tasks} GPUS_PER_NODE={options.tasks_per_node} '
             f'CPUS_PER_TASK={options.cpus_per_task} PYTHON={shlex.quote(python)}',
             'export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}',
             '# Jobs sharing a node need distinct rendezvous ports.',
             'export MASTER_PORT=$((20000 + SLURM_JOB_ID % 10000))',
             'exec ' + ' '.join(shlex.quote(part) for part in wrapped), '']
    return '\n'.join(lines)


def _slurm(*command: str, check: bool = True,
           cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                cwd=cwd)
    except FileNotFoundError:
        raise SlurmError(f'{command[0]} not found: is this a SLURM login node?') \
            from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f'{" ".join(command)} got no answer in 60 s') from None
    if check and result.returncode != 0:
        raise SlurmError(f'{" ".join(command)} failed (exit {result.returncode}): '
                         f'{result.stderr.strip() or result.stdout.strip()}')
    return result


def live_jobs() -> Dict[str, str]:
    """``{job id: state}`` of every job SLURM still has queued or running."""
    listing = _slurm('squeue', '--noheader', '--format=%i %T').stdout
    return dict(line.split(None, 1) for line in listing.splitlines() if line.strip())


def job_state(job_id: str) -> Optional[str]:
    """The final ``JobState`` the controller remembers (``MinJobAge``), or None."""
    result = _slurm('scontrol', 'show', 'job', '--oneliner', str(job_id), check=False)
    for item in result.stdout.split():
        if item.startswith('JobState='):
            return item.split('=', 1)[1]
    return None


def refresh_state(run_dir: str, status: Dict, alive: Dict[str, str]) -> Dict:
    """Settle the status of a run whose job is gone without writing its outcome.

    ``status``: the run's ``status.json``; ``alive``: :func:`live_jobs`. A status that
    is final, or whose job is still alive, is returned as it is.
    """
    job_id = status.get('job_id')
    if status.get('state') not in UNFINISHED or not job_id or str(job_id) in alive:
        return status
    final = job_state(job_id)
    state = 'failed' if (final or 'UNKNOWN').split()[0] in _FAILED_JOB_STATES \
        else 'interrupted'
    return update_status(run_dir, only_if_state=list(UNFINISHED), state=state,
                         job_state=final or 'unknown (no longer known to SLURM)')


def submit_run(run_name: str, run_dir: str, command: Sequence[str],
               options: SlurmOptions, status: Dict, alive: Dict[str, str],
               echo: Callable[[str], None] = print, cwd: Optional[str] = None,
               **status_fields) -> str:
    """Submit one run unless its job is still alive; the job starts in ``cwd``
    (default: the current directory), ``status_fields`` go into its status.

    Returns:
        ``'queued'`` (its job from an earlier launch is still queued or running),
        ``'submitted'``, or ``'failed'`` (``sbatch`` refused the job).
    """
    if status.get('state') in UNFINISHED and str(status.get('job_id')) in alive:
        return 'queued'
    script = osp.join(run_dir, JOB_SCRIPT)
    with open(script, 'w', encoding='utf-8') as f:
        f.write(job_script(run_name, run_dir, command, options))
    update_status(run_dir, replace=True, state='submitted', **status_fields)
    result = _slurm('sbatch', '--parsable', script, check=False, cwd=cwd)
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip()
        with open(osp.join(run_dir, 'train.log'), 'w', encoding='utf-8') as log:
            log.write(f'sbatch {script} failed (exit {result.returncode}):\n'
                      f'{message}\n')
        update_status(run_dir, state='failed', returncode=result.returncode)
        echo(f'{run_name}: sbatch failed: {message}')
        return 'failed'
    job_id = result.stdout.strip().split(';')[0]
    # Only the id: the job may already have written that it is running.
    update_status(run_dir, job_id=job_id)
    return 'submitted'


def wait_for_runs(run_dirs: Dict[str, str], poll_s: float = 5.0,
                  echo: Callable[[str], None] = print) -> Dict[str, str]:
    """Wait until no job of ``run_dirs`` (``{run name: run dir}``) is queued or
    running, then return their settled states."""
    reported: Dict[str, str] = {}
    while True:
        alive = live_jobs()
        states = {}
        for name, run_dir in run_dirs.items():
            status = refresh_state(run_dir, read_status(run_dir), alive)
            states[name] = status.get('state', 'not run')
            if states[name] != reported.get(name):
                job = status.get('job_id')
                echo(f'{name}: {states[name]}' + (f' (job {job})' if job else ''))
        reported = states
        if not any(state in UNFINISHED for state in states.values()):
            return states
        time.sleep(poll_s)


def refresh_states(run_dirs: Sequence[str]) -> None:
    """Settle every unfinished SLURM run of ``run_dirs`` whose job is gone (what a
    ``--report-only`` collection does first); nothing happens when no run has a job
    or no SLURM controller answers."""
    pending = [(d, read_status(d)) for d in run_dirs if osp.isdir(d)]
    pending = [(d, s) for d, s in pending
               if s.get('state') in UNFINISHED and s.get('job_id')]
    if not pending:
        return
    try:
        alive = live_jobs()
    except SlurmError as error:
        print(f'warning: cannot ask SLURM about the runs still marked running '
              f'({error}); their states are left as they are', file=sys.stderr)
        return
    for run_dir, status in pending:
        refresh_state(run_dir, status, alive)


def submit_grid(runs_and_dirs: Sequence, options: SlurmOptions,
                echo: Callable[[str], None] = print,
                cwd: Optional[str] = None) -> Dict[str, str]:
    """Submit ``(name, run dir, command, status fields)`` items; see
    :func:`submit_run`. One ``squeue`` for the whole grid."""
    alive = live_jobs()
    states = {}
    for name, run_dir, command, fields in runs_and_dirs:
        states[name] = submit_run(name, run_dir, command, options,
                                  read_status(run_dir), alive, echo, cwd, **fields)
    submitted = [n for n, s in states.items() if s == 'submitted']
    echo(f'submitted {len(submitted)} job(s) to partition {options.partition}; '
         f'{sum(s == "queued" for s in states.values())} still queued from before')
    return states


def launch(runs_and_dirs: Sequence, options: Optional[SlurmOptions], wait: bool = True,
           echo: Callable[[str], None] = print, poll_s: float = 5.0,
           cwd: Optional[str] = None) -> Dict[str, str]:
    """Submit the runs not done (:func:`submit_grid`; the jobs start in ``cwd``)
    and, with ``wait``, wait for every job of them, queued before or now
    (:func:`wait_for_runs`)."""
    if options is None:
        raise ValueError('the slurm launcher needs SlurmOptions (a partition at least)')
    states = submit_grid(runs_and_dirs, options, echo, cwd)
    if not wait:
        echo('not waiting: collect the results later with the same command and '
             '--report-only')
        return states
    dirs = {name: run_dir for name, run_dir, _, _ in runs_and_dirs
            if states[name] in ('submitted', 'queued')}
    try:
        states.update(wait_for_runs(dirs, poll_s, echo))
    except KeyboardInterrupt:
        echo('stopped waiting; the jobs go on: collect them with --report-only, '
             'or cancel them with scancel')
        raise
    return states


def add_slurm_arguments(parser) -> None:
    """The ``--launcher slurm`` options of ``tools/ablation.py`` (``--gpus`` and
    ``--partition`` are the launcher-wide ones)."""
    group = parser.add_argument_group(
        'slurm launcher', 'one sbatch job per run; see docs/slurm.md')
    group.add_argument('--tasks', type=int,
                       help='processes per run on a CPU partition (--gpus 0); '
                       'default 1 (a GPU run has one task per GPU)')
    group.add_argument('--gpus-per-node', type=int,
                       help='at most this many GPUs of a run per node (default: '
                       'min(--gpus, 8))')
    group.add_argument('--cpus-per-task', type=int, default=5,
                       help='CPUs of each task (default 5)')
    group.add_argument('--time', help='time limit of each job, e.g. 4:00:00')
    group.add_argument('--sbatch-args', type=shlex.split, default=[],
                       help='further sbatch options, one string: '
                       '--sbatch-args="--qos=high --account=lab"')
    group.add_argument('--no-wait', action='store_true',
                       help='submit and return; collect later with --report-only')


def options_from_args(args) -> SlurmOptions:
    """:class:`SlurmOptions` from ``tools/ablation.py``'s arguments."""
    return SlurmOptions(partition=args.partition, gpus=args.gpus, tasks=args.tasks,
                        gpus_per_node=args.gpus_per_node,
                        cpus_per_task=args.cpus_per_task, time=args.time,
                        sbatch_args=tuple(args.sbatch_args))
