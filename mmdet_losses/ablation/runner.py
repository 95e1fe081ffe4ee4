"""Running the grid: locally one run after another, or through a launcher.

Each run has its own work dir ``<work_dir>/<run name>/`` holding its config
(``config.py``), its log (``train.log``) and ``status.json``
(``{"state": "done" | "failed" | "interrupted", "returncode": ..., "seconds": ...}``).
A run whose status is ``done`` is skipped on re-launch; a failed run is recorded and
the others go on; Ctrl-C (SIGINT) or SIGTERM (``kill``, a scheduler's cancel) stops
the current run (marked ``interrupted``, redone next time) and keeps everything
already finished.
"""
import contextlib
import json
import os
import os.path as osp
import signal
import subprocess
import threading
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from .grid import Run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')


def read_status(run_dir: str) -> Dict:
    path = osp.join(run_dir, 'status.json')
    if not osp.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _write_status(run_dir: str, **status) -> None:
    with open(osp.join(run_dir, 'status.json'), 'w', encoding='utf-8') as f:
        json.dump(status, f)


def train_command(config: str, run_dir: str, launcher: str = 'none', gpus: int = 1,
                  cfg_options: Sequence[str] = (),
                  slurm_partition: Optional[str] = None) -> List[str]:
    """The command that trains one run, in MMDetection's conventions."""
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    if launcher == 'none':
        return [sys.executable, osp.join(TOOLS, 'train.py'), config, '--work-dir',
                run_dir, *options]
    if launcher == 'pytorch':
        return ['bash', osp.join(TOOLS, 'dist_train.sh'), config, str(gpus),
                '--work-dir', run_dir, *options]
    if launcher == 'slurm':
        job = osp.basename(run_dir.rstrip('/'))
        return ['bash', osp.join(TOOLS, 'slurm_train.sh'),
                slurm_partition or 'PARTITION', job, config, run_dir, *options]
    raise ValueError(f"launcher must be 'none', 'pytorch' or 'slurm', got {launcher!r}")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f'signal {signum}')


@contextlib.contextmanager
def _sigterm_interrupts():
    """Within the block, SIGTERM raises KeyboardInterrupt as Ctrl-C does (main
    thread only: Python delivers signals there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_grid(runs: Sequence[Run],
             base_config: str,
             work_dir: str,
             decoded_key: bool,
             launcher: str = 'none',
             gpus: int = 1,
             cfg_options: Sequence[str] = (),
             dry_run: bool = False,
             slurm_partition: Optional[str] = None,
             progress: bool = True,
             echo: Callable[[str], None] = print) -> Dict[str, str]:
    """Write each run's config and train the runs not yet done.

    Returns:
        ``{run name: state}`` with states ``done``, ``failed``, ``interrupted``,
        ``skipped`` (done before) or ``planned`` (``dry_run``).
    """
    states = {}
    iterator = runs
    if progress and not dry_run:
        from tqdm import tqdm
        iterator = tqdm(runs, desc='ablation grid', unit='run')
    for run in iterator:
        run_dir = osp.join(work_dir, run.name)
        os.makedirs(run_dir, exist_ok=True)
        config = osp.join(run_dir, 'config.py')
        with open(config, 'w', encoding='utf-8') as f:
            f.write(run.config_text(base_config, decoded_key))
        command = train_command(config, run_dir, launcher, gpus, cfg_options,
                                slurm_partition)
        if dry_run:
            echo(' '.join(command))
            states[run.name] = 'planned'
            continue
        if read_status(run_dir).get('state') == 'done':
            states[run.name] = 'skipped'
            continue
        start = time.time()
        with open(osp.join(run_dir, 'train.log'), 'w', encoding='utf-8') as log, \
                _sigterm_interrupts():
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       cwd=REPO)
            try:
                returncode = process.wait()
            except KeyboardInterrupt:
                _write_status(run_dir, state='interrupted', returncode=None,
                              seconds=round(time.time() - start, 1))
                states[run.name] = 'interrupted'
                process.terminate()
                process.wait()
                echo(f'interrupted during {run.name}; finished runs are kept')
                raise
        state = 'done' if returncode == 0 else 'failed'
        _write_status(run_dir, state=state, returncode=returncode,
                      seconds=round(time.time() - start, 1))
        states[run.name] = state
        if state == 'failed':
            echo(f'{run.name} failed (exit {returncode}); see '
                 f'{osp.join(run_dir, "train.log")}')
    return states
