"""The grid's records (mmdet_losses_lab.ablation.store): a run folder is newer than
the archive, the archive stands in for a folder that is gone, the manifest keeps
each command once, and concurrent writers do not lose each other's runs."""
import json
import multiprocessing
import os
import os.path as osp
import shutil

from mmdet_losses_lab.ablation.provenance import grid_command
from mmdet_losses_lab.ablation.store import (archive_runs, current_status, load_run,
                                             read_archive, record_command,
                                             record_runs, update_status)


def finished(work_dir, name, state='done', ap=0.5):
    run_dir = osp.join(str(work_dir), name)
    update_status(run_dir, replace=True, state=state, key='k' + name, seconds=1.0)
    vis = osp.join(run_dir, '20261206_000000', 'vis_data')
    os.makedirs(vis, exist_ok=True)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.write(json.dumps({'loss': 1.0, 'iter': 20}) + '\n')
        f.write(json.dumps({'coco/bbox_mAP': ap, 'step': 20}) + '\n')
    return run_dir


def test_folder_first_then_archive(tmp_path):
    finished(tmp_path, 'a', ap=0.5)
    finished(tmp_path, 'b', state='failed')
    update_status(str(tmp_path / 'c'), state='interrupted')
    runs = archive_runs(str(tmp_path))
    assert sorted(runs) == ['a', 'b']  # an interrupted run is not archived
    assert runs['a']['records'][-1]['coco/bbox_mAP'] == 0.5
    # a newer folder wins over the archive
    finished(tmp_path, 'a', ap=0.7)
    assert load_run(str(tmp_path), 'a')['records'][-1]['coco/bbox_mAP'] == 0.7
    assert read_archive(str(tmp_path))['a']['records'][-1]['coco/bbox_mAP'] == 0.5
    # without its folder, the archive answers
    shutil.rmtree(tmp_path / 'a')
    assert load_run(str(tmp_path), 'a')['records'][-1]['coco/bbox_mAP'] == 0.5
    assert current_status(str(tmp_path), 'a') == {'state': 'done', 'key': 'ka',
                                                  'seconds': 1.0}
    assert load_run(str(tmp_path), 'never')['status'] == {}
    assert current_status(str(tmp_path), 'never') == {}


def test_update_status_merges_replaces_and_guards(tmp_path):
    run = str(tmp_path / 'r')
    assert update_status(run, state='submitted', job_id='7') == \
        {'state': 'submitted', 'job_id': '7'}
    assert update_status(run, state='running') == {'state': 'running', 'job_id': '7'}
    assert update_status(run, only_if_state=['submitted'], state='failed') == \
        {'state': 'running', 'job_id': '7'}
    assert update_status(run, replace=True, state='done') == {'state': 'done'}


def test_manifest_keeps_each_command_once_and_merges_runs(tmp_path):
    env = {'commit': 'abc', 'versions': {'torch': '2.13.0'}, 'settings': {}}
    record_command(str(tmp_path), 'python tools/ablation.py X --seeds 0', env)
    record_command(str(tmp_path), 'python tools/ablation.py X --seeds 0', env)
    manifest = record_command(str(tmp_path), 'python tools/ablation.py X --seeds 0 1',
                              env)
    assert [c['command'] for c in manifest['commands']] == [
        'python tools/ablation.py X --seeds 0', 'python tools/ablation.py X --seeds 0 1']
    record_runs(str(tmp_path), {'b_s0': {'key': '1'}})
    record_runs(str(tmp_path), {'a_s0': {'key': '2'}})
    runs = json.loads((tmp_path / 'manifest.json').read_text())['runs']
    assert runs == {'a_s0': {'key': '2'}, 'b_s0': {'key': '1'}}


def test_grid_command_relative_and_quoted(tmp_path):
    cwd = str(tmp_path)
    command = grid_command([f'{cwd}/configs/x.py', '--reg',
                            "m=dict(type='A', size=(1, 2))", '--work-dir',
                            '/elsewhere/w'], cwd)
    assert command == ("python tools/ablation.py configs/x.py --reg "
                       "'m=dict(type='\"'\"'A'\"'\"', size=(1, 2))' "
                       "--work-dir /elsewhere/w")


def _archive_one(args):
    work_dir, name = args
    finished(work_dir, name)
    archive_runs(work_dir, [name])


def test_concurrent_archivers_keep_every_run(tmp_path):
    names = [f'run{i}' for i in range(12)]
    with multiprocessing.get_context('fork').Pool(4) as pool:
        pool.map(_archive_one, [(str(tmp_path), n) for n in names])
    assert sorted(read_archive(str(tmp_path))) == sorted(names)


def test_a_resumed_run_keeps_its_records_before_the_resume(tmp_path):
    """A resumed run writes a second scalars.json from the iteration after its
    checkpoint: the run's records are the first file's up to there, then the second's
    (the iterations logged twice come from the resumed process)."""
    from mmdet_losses_lab.ablation.store import read_scalars
    run_dir = tmp_path / 'run'
    for stamp, steps in (('20261206_000000', (10, 20, 30)),
                         ('20261206_010000', (30, 40))):
        vis = run_dir / stamp / 'vis_data'
        vis.mkdir(parents=True)
        vis.joinpath('scalars.json').write_text(''.join(
            json.dumps({'loss': float(step) + (0.5 if stamp.endswith('10000') else 0),
                        'iter': step, 'step': step}) + '\n' for step in steps))
    records = read_scalars(str(run_dir))
    assert [(r['step'], r['loss']) for r in records] == \
        [(10, 10.0), (20, 20.0), (30, 30.5), (40, 40.5)]
