"""The records of an ablation grid, and the one module that reads and writes them.

A grid's work dir holds

* per run, ``<run>/status.json``: ``{"state": "done" | "failed" | "interrupted" |
  "submitted" | "running", "returncode", "seconds", "key", ...}`` (the key
  identifies what was trained: :func:`~mmdet_losses_lab.ablation.runner.run_key`),
  beside what the training writes (its config, MMEngine's log and
  ``vis_data/scalars.json``, checkpoints);
* for the grid, ``runs.json``: each finished run's status with the seed, the
  logging window and every logged scalar (losses and COCO metrics), which is all the
  report reads. It is what ``results/<grid>/`` keeps in the repository, with the
  summary and the manifest (``manifest.json``, the commands and environment of the
  grid); the run folders (logs, dumped configs, checkpoints) are not kept there.

A run folder, where it exists, is newer than the archive; a run without a folder is
read from ``runs.json``, so a grid archived in ``results/`` resumes there (its run
folders are ignored by git). Every read-modify-write of a status or of the archive
holds a POSIX lock (the host that submits SLURM jobs and the jobs share the files).

Standard library only: the SLURM job side (:mod:`.slurm_job`, run by path inside the
job) records its outcome through this module.
"""
import contextlib
import fcntl
import glob
import json
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional

STATUS = 'status.json'
ARCHIVE = 'runs.json'
MANIFEST = 'manifest.json'
_LOCK = '.status.lock'
_ARCHIVE_LOCK = '.runs.lock'
FINISHED = ('done', 'failed')


@contextlib.contextmanager
def locked(folder: str, name: str = _LOCK) -> Iterator[None]:
    """Hold an exclusive POSIX record lock (honoured by network file systems) on
    ``folder/name`` for the block."""
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, name), 'a') as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(lock, fcntl.LOCK_UN)


def _read_json(path: str, default):
    if not osp.exists(path):
        return default
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _write_json(path: str, value, indent: Optional[int] = None) -> None:
    """Replace ``path`` atomically."""
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=indent)
        f.write('\n')
    os.replace(path + '.tmp', path)


def read_status(run_dir: str) -> Dict:
    """The run folder's ``status.json`` (``{}`` without one)."""
    return _read_json(osp.join(run_dir, STATUS), {})


def update_status(run_dir: str, only_if_state: Optional[List[str]] = None,
                  replace: bool = False, **fields) -> Dict:
    """Merge ``fields`` into the run's ``status.json`` (other keys are kept; with
    ``replace``, they are dropped) and return the new status; with ``only_if_state``,
    change nothing unless the current state is one of those."""
    with locked(run_dir):
        current = read_status(run_dir)
        if only_if_state is not None and current.get('state') not in only_if_state:
            return current
        status = dict(fields) if replace else {**current, **fields}
        _write_json(osp.join(run_dir, STATUS), status)
        return status


# What a run folder holds besides its status, read once when the run is archived.

def _step(record: Dict) -> int:
    return record.get('step', record.get('iter', 0))


def read_scalars(run_dir: str) -> List[Dict]:
    """The run's records from MMEngine's ``vis_data/scalars.json`` files, oldest
    first: a later file (a resumed run, or a run trained again) replaces the earlier
    records from its first ``step`` on."""
    records: List[Dict] = []
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path, encoding='utf-8') as f:
            newer = [json.loads(line) for line in f if line.strip()]
        if newer:
            first = _step(newer[0])
            records = [r for r in records if _step(r) < first] + newer
    return records


def read_seed(run_dir: str) -> Optional[int]:
    """The seed MMEngine logged in the run's newest log (``seed: <int>``)."""
    paths = sorted(glob.glob(osp.join(run_dir, '*', '*.log')))
    if not paths:
        return None
    with open(paths[-1], encoding='utf-8') as f:
        found = re.search(r'^\s*seed: (-?\d+)\s*$', f.read(), re.MULTILINE)
    return int(found.group(1)) if found else None


def read_log_window(run_dir: str) -> Optional[int]:
    """``log_processor.window_size`` of the config MMEngine dumped for the run (the
    logged ``time`` is a mean over that many iterations)."""
    paths = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'config.py')))
    for path in paths[-1:] + [osp.join(run_dir, 'config.py')]:
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                found = re.search(r'log_processor\s*=\s*dict\(([^)]*)\)', f.read())
            size = found and re.search(r'window_size\s*=\s*(\d+)', found.group(1))
            if size:
                return int(size.group(1))
    return None


def folder_record(run_dir: str) -> Dict:
    """A run folder as one record: ``{'status', 'seed', 'log_window', 'records'}``."""
    return {'status': read_status(run_dir), 'seed': read_seed(run_dir),
            'log_window': read_log_window(run_dir), 'records': read_scalars(run_dir)}


def read_archive(work_dir: str) -> Dict[str, Dict]:
    """``{run name: record}`` of the grid's ``runs.json``."""
    return _read_json(osp.join(work_dir, ARCHIVE), {}).get('runs', {})


def archive_runs(work_dir: str, names: Optional[List[str]] = None) -> Dict[str, Dict]:
    """Copy the finished runs' folders (all of ``work_dir``'s, or ``names``) into
    ``runs.json`` and return the archive. Runs without a folder keep their entry."""
    if names is None:
        names = sorted(d for d in os.listdir(work_dir)
                       if osp.isfile(osp.join(work_dir, d, STATUS))) \
            if osp.isdir(work_dir) else []
    with locked(work_dir, _ARCHIVE_LOCK):
        runs = read_archive(work_dir)
        for name in names:
            run_dir = osp.join(work_dir, name)
            if read_status(run_dir).get('state') in FINISHED:
                runs[name] = folder_record(run_dir)
        if runs:
            _write_json(osp.join(work_dir, ARCHIVE),
                        {'runs': dict(sorted(runs.items()))}, indent=None)
    return runs


def load_run(work_dir: str, name: str,
             archive: Optional[Dict[str, Dict]] = None) -> Dict:
    """The run's record: from its folder if it has a status there, else from the
    archive (``archive``: :func:`read_archive`, read once by the caller), else
    empty (``{'status': {}, 'records': []}``)."""
    run_dir = osp.join(work_dir, name)
    if osp.isfile(osp.join(run_dir, STATUS)):
        return folder_record(run_dir)
    archive = read_archive(work_dir) if archive is None else archive
    return archive.get(name, {'status': {}, 'seed': None, 'log_window': None,
                              'records': []})


def current_status(work_dir: str, name: str) -> Dict:
    """The run's status: its folder's, else the archive's, else ``{}``."""
    status = read_status(osp.join(work_dir, name))
    return status or read_archive(work_dir).get(name, {}).get('status', {})


def record_command(work_dir: str, command: str, environment: Dict) -> Dict:
    """Add a command (and the environment it ran in) to the grid's
    ``manifest.json`` unless the same pair is there; return the manifest."""
    path = osp.join(work_dir, MANIFEST)
    with locked(work_dir, _ARCHIVE_LOCK):
        manifest = _read_json(path, {'commands': []})
        entry = {'command': command, **environment}
        if entry not in manifest['commands']:
            manifest['commands'].append(entry)
            _write_json(path, manifest, indent=1)
    return manifest


def record_runs(work_dir: str, runs: Dict[str, Dict]) -> None:
    """Merge ``runs`` (``{name: {'key', 'seed', 'state', 'seconds'}}``) into the
    manifest's ``runs``."""
    path = osp.join(work_dir, MANIFEST)
    with locked(work_dir, _ARCHIVE_LOCK):
        manifest = _read_json(path, {'commands': []})
        manifest['runs'] = dict(sorted({**manifest.get('runs', {}), **runs}.items()))
        _write_json(path, manifest, indent=1)
