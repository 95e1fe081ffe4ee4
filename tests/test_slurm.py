"""The SLURM launch paths on a live cluster: ``tools/slurm_train.sh`` on 2 gloo tasks,
and ``tools/ablation.py --launcher slurm`` submitting, waiting for, collecting, failing,
cancelling and resubmitting ``sbatch`` jobs.

Run with ``make test-slurm`` (it starts a one-machine cluster with
``tools/slurm_cluster.sh``, runs ``pytest -m slurm`` and stops the cluster); skipped
when no cluster answers. ``MMDET_LOSSES_SLURM_PARTITION`` picks the partition (default:
the cluster's default partition); ``MMDET_LOSSES_SLURM_REQUIRED=1`` (what
``make test-slurm`` sets) turns the skip into a failure. The jobs train on CPUs, one
CPU per task.
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import time

import pytest

from train_utils import (PYTHON, RETINANET, ROOT, free_port, log_text, make_data,
                         run, tiny_config, train_records, val_records)

pytestmark = pytest.mark.slurm

TESTS = osp.dirname(osp.abspath(__file__))
SHAPES_RETINANET = osp.join(ROOT, 'configs', 'shapes',
                            'retinanet_r18_fpn_1xb4-1500i_shapes.py')
BAD = "bad=dict(type='mmdet_losses.GIoULoss', eps=-1.0)"  # fails when built


def _cluster_partition():
    """``(partition, None)`` of a cluster that answers, else ``(None, why)``."""
    if shutil.which('sinfo') is None:
        return None, 'sinfo not found (no SLURM client installed)'
    try:
        result = subprocess.run(['sinfo', '--noheader', '--format=%P %t'],
                                capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None, 'sinfo got no answer in 30 s'
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ['no output'])[-1]
        return None, f'sinfo failed: {last}'
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()]
    wanted = os.environ.get('MMDET_LOSSES_SLURM_PARTITION')
    for name, state in rows:
        default = name.endswith('*')
        name = name.rstrip('*')
        if (name == wanted or (wanted is None and default)) and \
                state.rstrip('*~#') in ('idle', 'mix', 'alloc'):
            return name, None
    return None, f'no usable partition {wanted or "(default)"} in: {rows}'


@pytest.fixture(scope='module')
def partition():
    name, why = _cluster_partition()
    if name is None and os.environ.get('MMDET_LOSSES_SLURM_REQUIRED'):
        pytest.fail(f'no live SLURM cluster answers ({why})')
    if name is None:
        pytest.skip(f'no live SLURM cluster answers ({why}); start one with '
                    '`tools/slurm_cluster.sh start` and export SLURM_CONF, or run '
                    '`make test-slurm`')
    return name


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return make_data(str(tmp_path_factory.mktemp('shapes')), num_train=16, num_val=8)


def _live_jobs():
    listing = run(['squeue', '--noheader', '--format=%i %T']).stdout
    return dict(line.split(None, 1) for line in listing.splitlines() if line.strip())


def _wait(condition, timeout, what, poll=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


def _status(run_dir):
    path = osp.join(run_dir, 'status.json')
    if not osp.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _summary(work_dir):
    """``{run: row}`` of the first table of ``summary.md``."""
    with open(osp.join(work_dir, 'summary.md'), encoding='utf-8') as f:
        lines = [line for line in f if line.startswith('|')]
    header = [cell.strip() for cell in lines[0].strip('|\n').split('|')]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip('|\n').split('|')]
        if len(cells) != len(header):
            break  # the next table
        rows[cells[0]] = dict(zip(header, cells))
    return rows


# ----------------------------------------------------------------------------------
# 1. srun: tools/slurm_train.sh with 2 tasks on the CPU (gloo)


def test_slurm_train_two_gloo_tasks_agree_on_world_size(partition, data_root,
                                                         tmp_path):
    tiny = tiny_config(str(tmp_path), RETINANET, iters=4, batch=2, warmup=2)
    config = tmp_path / 'probe.py'
    config.write_text(
        f'_base_ = {tiny!r}\n'
        "custom_imports = dict(imports=['mmdet_losses', 'slurm_probe'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='RankProbeHook')]\n")
    work_dir = tmp_path / 'work'
    env = dict(GPUS='2', GPUS_PER_NODE='0', CPUS_PER_TASK='1', PYTHON=PYTHON,
               OMP_NUM_THREADS='1', SRUN_ARGS='--label', MASTER_PORT=str(free_port()),
               PYTHONPATH=os.pathsep.join([TESTS, os.environ.get('PYTHONPATH', '')]))
    result = run(['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), partition,
                  'mmdet-losses-test-srun', str(config), str(work_dir),
                  '--data-root', data_root], timeout=600, env=env)
    assert '--gres' not in result.stderr  # set -x shows the srun line

    probes = []
    for rank in (0, 1):
        path = work_dir / f'rank{rank}.json'
        assert path.exists(), f'rank {rank} wrote nothing:\n{result.stdout[-3000:]}'
        probes.append(json.loads(path.read_text()))
    # Each task found its own rank and the same world size, and the process group
    # of the two really connected them.
    assert [(p['rank'], p['world_size']) for p in probes] == [(0, 2), (1, 2)]
    assert [p['SLURM_PROCID'] for p in probes] == ['0', '1']
    assert probes[0]['gathered'] == probes[1]['gathered'] == [[0, 2], [1, 2]]
    assert probes[0]['SLURM_JOB_ID'] == probes[1]['SLURM_JOB_ID'] is not None
    assert probes[0]['MASTER_ADDR'] == probes[1]['MASTER_ADDR']

    assert [r['iter'] for r in train_records(str(work_dir))] == [1, 2, 3, 4]
    [evaluation] = val_records(str(work_dir))
    assert 0.0 <= evaluation['coco/bbox_mAP'] <= 1.0
    assert (work_dir / 'iter_4.pth').is_file()
    log = log_text(str(work_dir))
    assert 'Distributed launcher: slurm' in log
    assert 'Distributed training: True' in log
    # the output of both tasks, labelled by srun
    assert any(line.startswith('0:') for line in result.stdout.splitlines())
    assert any(line.startswith('1:') for line in result.stdout.splitlines())


# ----------------------------------------------------------------------------------
# 2-3. sbatch: the ablation grid, with a failing, a cancelled and resubmitted jobs

RUNS = ('focal_l1', 'focal_giou', 'focal_bad')


def _grid_command(partition, data_root, work_dir, *extra):
    root = osp.join(data_root, '')
    options = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'train_cfg.max_iters=4',
        'train_cfg.val_interval=4', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=4', 'model.test_cfg.score_thr=0.0'
    ]
    return [PYTHON, osp.join(ROOT, 'tools', 'ablation.py'), SHAPES_RETINANET,
            '--cls', 'focal', '--reg', 'l1', 'giou', BAD, '--work-dir', str(work_dir),
            '--launcher', 'slurm', '--partition', partition, '--gpus', '0',
            '--cpus-per-task', '1', *extra, '--cfg-options', *options]


@pytest.fixture(scope='module')
def first_launch(partition, data_root, tmp_path_factory):
    """The grid, waited for; ``focal_giou``'s job is cancelled once it runs."""
    work_dir = tmp_path_factory.mktemp('grid')
    process = subprocess.Popen(_grid_command(partition, data_root, work_dir),
                               cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        giou = str(work_dir / 'focal_giou')
        status = _wait(lambda: _status(giou).get('state') == 'running'
                       and _status(giou), 300, 'the focal_giou job to run')
        run(['scancel', status['job_id']])
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    statuses = {name: _status(str(work_dir / name)) for name in RUNS}
    return dict(work_dir=work_dir, returncode=process.returncode, output=output,
                statuses=statuses, cancelled=status['job_id'])


def test_failed_job_is_failed_cancelled_job_interrupted(first_launch):
    statuses, output = first_launch['statuses'], first_launch['output']
    assert first_launch['returncode'] == 1, output  # a run failed
    assert {n: s['state'] for n, s in statuses.items()} == {
        'focal_l1': 'done', 'focal_giou': 'interrupted', 'focal_bad': 'failed'}, output
    assert statuses['focal_giou']['job_id'] == first_launch['cancelled']
    assert statuses['focal_giou']['signal'] == 'SIGTERM'
    assert statuses['focal_bad']['returncode'] not in (0, None)
    work_dir = first_launch['work_dir']
    assert 'eps must be > 0.0, got -1.0' in (work_dir / 'focal_bad' /
                                            'train.log').read_text()
    # three jobs, one per run, and nothing of them left running
    assert len({s['job_id'] for s in statuses.values()}) == 3
    assert not set(_live_jobs()) & {s['job_id'] for s in statuses.values()}
    rows = _summary(str(work_dir))
    assert float(rows['focal_l1']['AP']) >= 0.0 and rows['focal_l1']['state'] == 'done'
    assert rows['focal_giou']['state'] == 'interrupted'
    assert rows['focal_bad']['state'] == 'failed' and rows['focal_bad']['AP'] == '-'


@pytest.fixture(scope='module')
def second_launch(first_launch, partition, data_root):
    """The same grid again without waiting, then collected with --report-only."""
    work_dir = first_launch['work_dir']
    done_mtime = (work_dir / 'focal_l1' / 'status.json').stat().st_mtime
    submitted = run(_grid_command(partition, data_root, work_dir, '--no-wait'),
                    timeout=300)
    jobs = {name: _status(str(work_dir / name)).get('job_id') for name in RUNS}
    _wait(lambda: not set(_live_jobs()) & set(jobs.values()), 600,
          'the resubmitted jobs to end', poll=2.0)
    collected = subprocess.run(
        _grid_command(partition, data_root, work_dir, '--report-only'), cwd=ROOT,
        capture_output=True, text=True, timeout=300)
    return dict(work_dir=work_dir, submitted=submitted.stdout, jobs=jobs,
                collected=collected, done_mtime=done_mtime,
                statuses={name: _status(str(work_dir / name)) for name in RUNS})


def test_rerun_resubmits_only_what_did_not_finish(first_launch, second_launch):
    before, jobs = first_launch['statuses'], second_launch['jobs']
    assert 'submitted 2 job(s)' in second_launch['submitted']
    assert jobs['focal_l1'] == before['focal_l1']['job_id']  # done: not submitted
    assert (second_launch['work_dir'] / 'focal_l1' / 'status.json').stat().st_mtime \
        == second_launch['done_mtime']
    for name in ('focal_giou', 'focal_bad'):
        assert jobs[name] not in (None, before[name]['job_id'])
    assert {n: s['state'] for n, s in second_launch['statuses'].items()} == {
        'focal_l1': 'done', 'focal_giou': 'done', 'focal_bad': 'failed'}


def test_report_only_collects_both_settings_ap(second_launch):
    collected = second_launch['collected']
    assert collected.returncode == 0, collected.stdout + collected.stderr
    rows = _summary(str(second_launch['work_dir']))
    for name in ('focal_l1', 'focal_giou'):
        assert rows[name]['state'] == 'done'
        assert 0.0 <= float(rows[name]['AP']) <= 1.0
        assert float(rows[name]['AP50']) >= float(rows[name]['AP'])
    assert rows['focal_bad']['state'] == 'failed'
    # the runs really were SLURM jobs of one task each
    log = (second_launch['work_dir'] / 'focal_giou' / 'train.log').read_text()
    assert 'Distributed launcher: slurm' in log
