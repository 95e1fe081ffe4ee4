"""The SLURM launcher's pieces without a cluster: the srun line of
tools/slurm_train.sh, the sbatch script of a run, the job-side status record and how
a vanished job is settled. tests/test_slurm.py runs them on a live cluster."""
import json
import os
import os.path as osp
import signal
import stat
import subprocess
import sys
import time

import pytest

from mmdet_losses_lab.ablation import slurm
from mmdet_losses_lab.ablation.slurm import SlurmOptions, job_script, refresh_state
from mmdet_losses_lab.ablation.slurm_job import update_status

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
WRAPPER = osp.join(ROOT, 'mmdet_losses_lab', 'ablation', 'slurm_job.py')


def _fake_command(directory, name, script):
    path = osp.join(directory, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('#!/usr/bin/env bash\n' + script)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


def _srun_line(tmp_path, **env):
    """The arguments tools/slurm_train.sh hands to srun (a fake one that prints
    them)."""
    _fake_command(str(tmp_path), 'srun', 'printf "%s\\n" "$@"\n')
    full_env = dict(os.environ, PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}',
                    **env)
    result = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), 'cpu', 'job', 'c.py', 'wd',
         '--cfg-options', 'a=1'], env=full_env, capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split('\n')


def test_slurm_train_asks_for_gpus_only_on_a_gpu_partition(tmp_path):
    cpu = _srun_line(tmp_path, GPUS='2', GPUS_PER_NODE='0', CPUS_PER_TASK='1')
    assert not any(arg.startswith('--gres') for arg in cpu)
    assert not any(arg.startswith('--ntasks-per-node') for arg in cpu)
    assert {'--ntasks=2', '--cpus-per-task=1', '--kill-on-bad-exit=1'} <= set(cpu)
    assert cpu[cpu.index('c.py') - 1].endswith('tools/train.py')
    assert cpu[cpu.index('c.py'):cpu.index('c.py') + 5] == [
        'c.py', '--work-dir=wd', '--launcher=slurm', '--cfg-options', 'a=1']
    placed = _srun_line(tmp_path, GPUS='4', GPUS_PER_NODE='0', TASKS_PER_NODE='2')
    assert '--ntasks-per-node=2' in placed
    gpu = _srun_line(tmp_path)  # MMDetection's defaults: 8 GPUs, 8 per node
    assert {'--gres=gpu:8', '--ntasks=8', '--ntasks-per-node=8',
            '--cpus-per-task=5'} <= set(gpu)


def _sbatch_lines(script):
    return [line[len('#SBATCH '):] for line in script.splitlines()
            if line.startswith('#SBATCH ')]


def test_job_script_resources(tmp_path):
    command = ['bash', 'tools/slurm_train.sh', 'cpu', 'focal_l1', 'config.py', 'run']
    cpu = job_script('focal_l1', str(tmp_path), command,
                     SlurmOptions('cpu', gpus=0, tasks=2, cpus_per_task=1),
                     python='/venv/bin/python')
    assert _sbatch_lines(cpu) == [
        '--job-name=focal_l1', '--partition=cpu',
        f'--output={tmp_path / "train.log"}', '--ntasks=2', '--cpus-per-task=1']
    assert 'export GPUS=2 GPUS_PER_NODE=0 CPUS_PER_TASK=1 PYTHON=/venv/bin/python' \
        in cpu
    assert cpu.rstrip().splitlines()[-1] == (
        f'exec /venv/bin/python {WRAPPER} {tmp_path} -- ' + ' '.join(command))
    gpu = job_script('r', str(tmp_path), command,
                     SlurmOptions('gpu', gpus=16, time='4:00:00',
                                  sbatch_args=('--qos=high',)))
    assert _sbatch_lines(gpu)[3:] == [
        '--ntasks=16', '--cpus-per-task=5', '--ntasks-per-node=8', '--gres=gpu:8',
        '--time=4:00:00', '--qos=high']
    assert SlurmOptions('gpu', gpus=2).tasks_per_node == 2  # not 8 for a 2-GPU run


@pytest.mark.parametrize('kwargs, message', [
    (dict(partition=None), "needs a partition, got None"),
    (dict(partition='p', gpus=-1), 'gpus must be an integer >= 0, got -1'),
    (dict(partition='p', gpus=0, cpus_per_task=0),
     'cpus_per_task must be an integer >= 1, got 0'),
    (dict(partition='p', gpus=2, tasks=3),
     'tasks must equal gpus on a GPU run .* got tasks=3 and gpus=2'),
])
def test_slurm_options_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SlurmOptions(**kwargs)


def _job(run_dir, *command, env=None):
    return subprocess.Popen([sys.executable, WRAPPER, str(run_dir), '--', *command],
                            env=dict(os.environ, SLURM_JOB_ID='41', **(env or {})),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _status(run_dir):
    return json.loads((run_dir / 'status.json').read_text())


def test_job_records_done_and_failed(tmp_path):
    update_status(str(tmp_path), state='submitted', job_id='41', identity='abc')
    assert _job(tmp_path, sys.executable, '-c', 'pass').wait(60) == 0
    status = _status(tmp_path)
    assert (status['state'], status['returncode'], status['job_id']) == ('done', 0,
                                                                         '41')
    assert status['identity'] == 'abc'  # what the submitter wrote is kept
    failing = _job(tmp_path, sys.executable, '-c', 'raise SystemExit(3)')
    assert failing.wait(60) == 3
    assert (_status(tmp_path)['state'], _status(tmp_path)['returncode']) == ('failed',
                                                                             3)


def test_job_cancelled_by_slurm_is_interrupted(tmp_path):
    # scancel and the time limit: SIGTERM to the job's processes
    marker = tmp_path / 'child.pid'
    job = _job(tmp_path, sys.executable, '-c',
               f'import os, time; open({str(marker)!r}, "w").write(str(os.getpid()));'
               ' time.sleep(120)')
    deadline = time.time() + 60
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    job.send_signal(signal.SIGTERM)
    output, _ = job.communicate(timeout=60)
    assert job.returncode == 128 + signal.SIGTERM, output
    status = _status(tmp_path)
    assert (status['state'], status['signal'], status['returncode']) == (
        'interrupted', 'SIGTERM', None)
    assert 'interrupted by SIGTERM' in output
    with pytest.raises(ProcessLookupError):  # the training went with it
        os.kill(int(marker.read_text()), 0)


def test_job_signalled_just_after_its_training_died_is_interrupted(tmp_path):
    # scancel signals the training step and the job's own step in no set order: here
    # the training dies first (exit 143) and the job's SIGTERM comes 0.3 s later.
    job = _job(tmp_path, 'sh', '-c', '(sleep 0.3; kill -TERM $PPID) & exit 143')
    output, _ = job.communicate(timeout=60)
    assert job.returncode == 128 + signal.SIGTERM, output
    status = _status(tmp_path)
    assert (status['state'], status['signal'], status['returncode']) == (
        'interrupted', 'SIGTERM', None)


@pytest.mark.parametrize('slurm_state, settled', [
    ('CANCELLED by 0', 'interrupted'), ('TIMEOUT', 'interrupted'),
    ('PREEMPTED', 'interrupted'), ('NODE_FAIL', 'interrupted'), (None, 'interrupted'),
    ('FAILED', 'failed'), ('OUT_OF_MEMORY', 'failed'),
])
def test_vanished_job_is_settled_from_the_scheduler(tmp_path, monkeypatch,
                                                    slurm_state, settled):
    # A job killed before it could write (SIGKILL after KillWait, cancelled while
    # pending, purged from the controller: None).
    monkeypatch.setattr(slurm, 'job_state', lambda job_id: slurm_state)
    status = update_status(str(tmp_path), state='running', job_id='7')
    assert refresh_state(str(tmp_path), status, alive={'8': 'RUNNING'})['state'] \
        == settled
    assert _status(tmp_path)['state'] == settled


def test_live_or_finished_job_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(slurm, 'job_state', lambda job_id: pytest.fail('asked'))
    running = update_status(str(tmp_path), state='running', job_id='7')
    assert refresh_state(str(tmp_path), running, alive={'7': 'RUNNING'}) == running
    done = update_status(str(tmp_path), state='done', job_id='7')
    assert refresh_state(str(tmp_path), done, alive={}) == done


def test_submission_skips_a_live_job_and_records_a_refused_one(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    calls = tmp_path / 'calls'
    _fake_command(str(bin_dir), 'sbatch',
                  f'echo "$@" >> {calls}\n'
                  'echo "sbatch: error: invalid partition specified: nope" >&2\n'
                  'exit 1\n')
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    options = SlurmOptions('nope', gpus=0)
    queued = update_status(str(run_dir), state='running', job_id='7')
    assert slurm.submit_run('r', str(run_dir), ['true'], options, queued,
                            alive={'7': 'RUNNING'}, echo=lambda _: None) == 'queued'
    assert not calls.exists()  # not submitted twice
    messages = []
    assert slurm.submit_run('r', str(run_dir), ['true'], options, queued,
                            alive={}, echo=messages.append) == 'failed'
    assert calls.read_text().split() == ['--parsable', str(run_dir / 'job.sh')]
    assert _status(run_dir)['state'] == 'failed'
    assert 'invalid partition specified: nope' in (run_dir / 'train.log').read_text()
    assert messages == ['r: sbatch failed: sbatch: error: invalid partition '
                        'specified: nope']
