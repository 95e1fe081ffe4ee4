"""Running the grid: locally one run after another, or through a launcher.

Each run has its own work dir ``<work_dir>/<run name>/`` holding its config
(``config.py``), its log (``train.log``) and its status (:mod:`.store`: state,
return code, seconds and the key identifying what was trained, :func:`run_key`); a
finished run is also archived in the grid's ``runs.json``.
A run whose status is ``done`` under its current key, in its folder or in the
archive, is skipped on re-launch (one whose config, options or data root changed is
trained again); a failed run is recorded and the others go on; Ctrl-C (SIGINT) or
SIGTERM (``kill``, a scheduler's cancel) stops the current run (marked
``interrupted``) and keeps everything already finished. A run that stopped before
its end (interrupted, or its process killed) resumes from its last checkpoint under
the same key (MMEngine's ``--resume``; its status records the iteration it resumed
from), else it is trained from the start. With the
``slurm`` launcher every run not done is an ``sbatch`` job that records its own
outcome (:mod:`mmdet_losses_lab.ablation.slurm`).
"""
import contextlib
import json
import os
import os.path as osp
import re
import signal
import subprocess
import threading
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mmdet_losses.engine.mim import tools_dir
from .grid import Run
from .store import archive_runs, current_status, update_status

# The checkout's tools/, or the installed package's .mim/tools (utils.mim).
TOOLS = tools_dir()
REPO = osp.dirname(TOOLS)


def _relative_paths(text: str, roots: Sequence[Tuple[str, str]]) -> str:
    """``text`` with each absolute ``root`` path replaced by its ``name``."""
    for name, root in roots:
        text = re.sub(re.escape(osp.abspath(root)) + r'(?![\w.-])', name, text)
    return text


def run_key(config: str, cfg_options: Sequence[str] = (),
            data_root: Optional[str] = None, cwd: Optional[str] = None) -> str:
    """What identifies a run: a hash of its config file's text, the full config it
    resolves to (so that an edit of a base config counts), the ``--cfg-options``
    and the data root. A run marked done under another key is trained again.

    Paths under ``cwd`` (the directory the grid runs in) and under the checkout of
    the tools count relative to them: the same grid has the same keys in another
    checkout, another machine, or after its folder was moved."""
    import hashlib
    with open(config, encoding='utf-8') as f:
        text = f.read()
    try:
        from mmengine.config import Config
        resolved = json.dumps(Config.fromfile(config).to_dict(), sort_keys=True,
                              default=repr)
    except Exception as error:  # a config that does not load fails when it trains
        resolved = f'unresolved: {type(error).__name__}'
    identity = json.dumps([text, resolved, list(cfg_options), data_root])
    roots = ([('<cwd>', cwd)] if cwd else []) + [('<repo>', REPO)]
    identity = _relative_paths(identity, roots)
    return hashlib.sha256(identity.encode('utf-8')).hexdigest()[:16]


def train_command(config: str, run_dir: str, launcher: str = 'none', gpus: int = 1,
                  cfg_options: Sequence[str] = (),
                  slurm_partition: Optional[str] = None,
                  data_root: Optional[str] = None) -> List[str]:
    """The command that trains one run, in MMDetection's conventions."""
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    if data_root is not None:
        options = ['--data-root', data_root, *options]
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


def resume_point(run_dir: str, status: Dict, key: str) -> Optional[str]:
    """The checkpoint (file name) a run not finished resumes from: MMEngine's
    ``last_checkpoint`` in the run folder, when the run's status says it was
    started (``running``) or ``interrupted`` under the same ``key``; else ``None``."""
    if status.get('state') not in ('running', 'interrupted') or \
            status.get('key') != key:
        return None
    marker = osp.join(run_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        checkpoint = f.read().strip()
    if not osp.isfile(checkpoint):
        checkpoint = osp.join(run_dir, osp.basename(checkpoint))
    return osp.basename(checkpoint) if osp.isfile(checkpoint) else None


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
             echo: Callable[[str], None] = print,
             slurm_options=None,
             wait: bool = True,
             data_root: Optional[str] = None,
             cwd: Optional[str] = None) -> Dict[str, str]:
    """Write each run's config and train the runs not yet done.

    A run is done when its ``status.json`` says so under the run's current
    :func:`run_key`; a run done under another key (its config, the options or the
    data root changed) is trained again. Runs start in ``cwd`` (default: the current
    directory), so relative paths in the configs mean what they mean to the user;
    ``data_root`` (``tools/train.py --data-root``) moves every dataset there.
    ``decoded_key`` is unused: the head options are part of each run.

    ``slurm_options`` (:class:`~mmdet_losses_lab.ablation.slurm.SlurmOptions`): with the
    ``slurm`` launcher, what each run's job asks for; ``wait``: wait for the jobs
    (else return once they are submitted).

    Returns:
        ``{run name: state}`` with states ``done``, ``failed``, ``interrupted``,
        ``skipped`` (done before) or ``planned`` (``dry_run``); without ``wait``,
        also ``submitted`` or ``queued`` (a job of an earlier launch still alive).
    """
    states = {}
    cwd = osp.abspath(cwd or os.getcwd())
    work_dir = osp.join(cwd, work_dir)
    data_root = None if data_root is None else osp.join(cwd, data_root)
    on_slurm = launcher == 'slurm' and not dry_run
    slurm_runs = []
    iterator = runs
    if progress and not dry_run and not on_slurm:
        from tqdm import tqdm
        iterator = tqdm(runs, desc='ablation grid', unit='run')
    for run in iterator:
        run_dir = osp.join(work_dir, run.name)
        os.makedirs(run_dir, exist_ok=True)
        config = osp.join(run_dir, 'config.py')
        with open(config, 'w', encoding='utf-8') as f:
            f.write(run.config_text(base_config))
        command = train_command(config, run_dir, launcher, gpus, cfg_options,
                                slurm_partition, data_root)
        if dry_run:
            echo(' '.join(command))
            states[run.name] = 'planned'
            continue
        key = run_key(config, cfg_options, data_root, cwd)
        status = current_status(work_dir, run.name)
        if status.get('state') == 'done':
            if status.get('key') == key:
                states[run.name] = 'skipped'
                archive_runs(work_dir, [run.name])  # done before runs.json existed
                continue
            echo(f'{run.name}: done before with another config or options; '
                 'training it again')
        if on_slurm:
            slurm_runs.append((run.name, run_dir, command, {'key': key}))
            continue
        resumed = resume_point(run_dir, status, key)
        if resumed is not None:
            command = [*command, '--resume']  # dist_train.sh passes it on too
            echo(f'{run.name}: resuming from {resumed}')
        update_status(run_dir, replace=True, state='running', key=key,
                      **({'resumed_from': resumed} if resumed else {}))
        start = time.time()
        with open(osp.join(run_dir, 'train.log'), 'a' if resumed else 'w',
                  encoding='utf-8') as log, \
                _sigterm_interrupts():
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       cwd=cwd)
            try:
                returncode = process.wait()
            except KeyboardInterrupt:
                update_status(run_dir, state='interrupted', returncode=None,
                              seconds=round(time.time() - start, 1))
                states[run.name] = 'interrupted'
                process.terminate()
                process.wait()
                echo(f'interrupted during {run.name}; finished runs are kept')
                raise
        state = 'done' if returncode == 0 else 'failed'
        update_status(run_dir, state=state, returncode=returncode,
                      seconds=round(time.time() - start, 1))
        archive_runs(work_dir, [run.name])
        states[run.name] = state
        if state == 'failed':
            echo(f'{run.name} failed (exit {returncode}); see '
                 f'{osp.join(run_dir, "train.log")}')
    if slurm_runs:
        from .slurm import launch
        states.update(launch(slurm_runs, slurm_options, wait, echo, cwd=cwd))
    return states
