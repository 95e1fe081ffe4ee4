"""The ablation grid runner (tools/ablation.py, mmdet_losses_lab.ablation)."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import mmdet
import pytest
from mmengine.config import Config

from mmdet_losses_lab.ablation import make_grid, parse_loss_spec, run_grid
from mmdet_losses_lab.ablation import runner as runner_module
from mmdet_losses_lab.ablation.grid import head_has_decoded_option
from mmdet_losses_lab.ablation.report import collect_results, markdown_table

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHAPES_RETINANET = osp.join(REPO, 'configs/shapes/retinanet_r18_fpn_1xb4-1500i_shapes.py')
COCO_FCOS = osp.join(REPO, 'configs/fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py')


def test_grid_sweeps_focal_hyper_parameters_only():
    runs = make_grid(['focal', 'ce'], ['l1', 'giou'], gammas=[0, 2], alphas=[0.25])
    names = [r.name for r in runs]
    # focal: 2 reg x 2 gamma x 1 alpha = 4 runs; ce: 2 reg, no sweep.
    assert names == ['focal_l1_g0_a0.25', 'focal_l1_g2_a0.25', 'focal_giou_g0_a0.25',
                     'focal_giou_g2_a0.25', 'ce_l1', 'ce_giou']
    assert runs[0].loss_cls['gamma'] == 0.0 and runs[1].loss_cls['gamma'] == 2.0
    assert 'gamma' not in runs[4].loss_cls
    assert runs[4].loss_cls['use_sigmoid'] is False


def test_grid_location_weights_follow_the_field():
    anchor = {r.reg_name: r.loss_bbox['loss_weight']
              for r in make_grid(['focal'], ['l1', 'giou', 'ciou'])}
    free = {r.reg_name: r.loss_bbox['loss_weight']
            for r in make_grid(['focal'], ['l1', 'giou'], decoded_head=False)}
    assert anchor == {'l1': 1.0, 'giou': 2.0, 'ciou': 2.0}
    assert free == {'l1': 1.0, 'giou': 1.0}
    swept = make_grid(['focal'], ['giou'], reg_weights=[1, 5])
    assert [(r.name, r.loss_bbox['loss_weight']) for r in swept] == [
        ('focal_giou_w1', 1.0), ('focal_giou_w5', 5.0)]


def test_custom_and_unknown_loss_settings():
    name, loss = parse_loss_spec("tight=dict(type='mmdet_losses.GIoULoss', eps=1e-7)",
                                 {})
    assert name == 'tight' and loss == {'type': 'mmdet_losses.GIoULoss', 'eps': 1e-7}
    with pytest.raises(ValueError, match="unknown loss setting 'gio'"):
        make_grid(['focal'], ['gio'])
    with pytest.raises(ValueError, match='must be a dict with a type'):
        parse_loss_spec('x=dict(eps=1)', {})


def test_run_config_swaps_both_losses(tmp_path):
    run = make_grid(['ce'], ['ciou'])[0]
    path = tmp_path / 'config.py'
    path.write_text(run.config_text(SHAPES_RETINANET, decoded_key=True))
    head = Config.fromfile(str(path)).model.bbox_head
    assert head.reg_decoded_bbox is True
    assert head.loss_cls.type == 'mmdet_losses.CrossEntropyLoss'
    assert head.loss_cls.use_sigmoid is False
    assert dict(head.loss_bbox) == {'type': 'mmdet_losses.CIoULoss', 'loss_weight': 2.0}
    l1 = make_grid(['focal'], ['l1'])[0]
    path.write_text(l1.config_text(SHAPES_RETINANET, decoded_key=True))
    assert Config.fromfile(str(path)).model.bbox_head.reg_decoded_bbox is False


def test_seeds_give_one_run_per_seed_of_every_setting(tmp_path):
    runs = make_grid(['focal'], ['l1', 'giou'], seeds=[None, 0, 7])
    assert [(r.name, r.setting, r.seed) for r in runs] == [
        ('focal_l1', 'focal_l1', None), ('focal_l1_s0', 'focal_l1', 0),
        ('focal_l1_s7', 'focal_l1', 7), ('focal_giou', 'focal_giou', None),
        ('focal_giou_s0', 'focal_giou', 0), ('focal_giou_s7', 'focal_giou', 7)]
    path = tmp_path / 'config.py'
    path.write_text(runs[2].config_text(SHAPES_RETINANET, decoded_key=True))
    assert Config.fromfile(str(path)).randomness == {'seed': 7}
    path.write_text(runs[0].config_text(SHAPES_RETINANET, decoded_key=True))
    assert 'seed' not in Config.fromfile(str(path)).get('randomness', {})
    with pytest.raises(ValueError, match=r'seeds must be distinct, got \[1, 1\]'):
        make_grid(['focal'], ['l1'], seeds=[1, 1])


def test_mean_over_seeds_and_logged_seed(tmp_path):
    from mmdet_losses_lab.ablation.report import mean_over_seeds
    from mmdet_losses_lab.ablation.store import read_seed

    def row(run, setting, ap, state='done'):
        return dict({m: None for m in ('AP50', 'AP75', 'APs', 'APm', 'APl')},
                    run=run, setting=setting, AP=ap, state=state)

    table = mean_over_seeds([row('a_s0', 'a', 0.5), row('a_s1', 'a', 0.7),
                             row('a_s2', 'a', None, state='failed'),
                             row('b', 'b', 0.25)])
    assert [(t['setting'], t['runs'], t['AP'], t['AP50']) for t in table] == [
        ('a', '2/3', '0.600 +- 0.141', None), ('b', '1/1', '0.250', None)]

    log_dir = tmp_path / '20261128_170736'
    log_dir.mkdir()
    (log_dir / '20261128_170736.log').write_text(
        'Runtime environment:\n    numpy_random_seed: 618889508\n'
        '    seed: 618889508\n    Distributed launcher: none\n')
    assert read_seed(str(tmp_path)) == 618889508
    assert read_seed(str(tmp_path / 'missing')) is None


def _write_scalars(run_dir, records):
    folder = run_dir / '20261128_170736' / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in records) + '\n')


def test_summary_row_from_the_mmengine_log(tmp_path):
    from mmdet_losses_lab.ablation.report import summarize_run
    from mmdet_losses_lab.ablation.store import folder_record

    run = make_grid(['focal'], ['giou'], seeds=[3])[0]
    train = [{'lr': 1e-3, 'loss': 2.0 - i, 'loss_cls': 1.0 - i / 2,
              'loss_bbox': 1.0 - i / 2, 'time': t, 'iter': 20 * (i + 1)}
             for i, t in enumerate((5.0, 0.25, 0.35))]
    metrics = {'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_50': 0.75,
               'coco/bbox_mAP_75': 0.5, 'coco/bbox_mAP_s': 0.25,
               'coco/bbox_mAP_m': 0.625, 'coco/bbox_mAP_l': -1.0, 'step': 60}
    _write_scalars(tmp_path / 'ran', train + [metrics])
    row = summarize_run(run, folder_record(str(tmp_path / 'ran')))
    assert (row['run'], row['setting'], row['seed']) == ('focal_giou_s3',
                                                         'focal_giou', 3)
    assert (row['AP'], row['AP50'], row['AP75'], row['APs'], row['APm']) == (
        0.5, 0.75, 0.5, 0.25, 0.625)
    assert row['APl'] is None  # COCO's -1: no large objects in the val set
    assert row['loss_cls'] == 0.0 and row['loss_bbox'] == 0.0
    assert row['s_per_iter'] == pytest.approx(0.3)  # the first window is warm-up
    assert row['curve'] == [(20, 2.0), (40, 1.0), (60, 0.0)]

    # validated, but the model detected nothing: CocoMetric logs no AP at all
    _write_scalars(tmp_path / 'empty', train + [{'step': 60, 'data_time': 0.01}])
    assert summarize_run(run, folder_record(str(tmp_path / 'empty')))['AP'] == 0.0
    # never validated: no AP
    _write_scalars(tmp_path / 'unvalidated', train)
    assert summarize_run(run, folder_record(str(tmp_path / 'unvalidated')))['AP'] is None


def test_softmax_runs_start_at_the_background_prior(tmp_path):
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings

    register_all_modules(init_default_scope=False)
    probabilities = {}
    for cls_name in ('ce', 'focal'):
        run = make_grid([cls_name], ['l1'])[0]
        path = tmp_path / f'{cls_name}.py'
        path.write_text(run.config_text(SHAPES_RETINANET, decoded_key=True))
        cfg = Config.fromfile(str(path))
        import_modules_from_strings(**cfg.custom_imports)
        with DefaultScope.overwrite_default_scope('mmdet'):  # as the runner does
            head = MODELS.build(cfg.model.bbox_head)
            head.init_weights()
        bias = head.retina_cls.bias.detach().view(-1, head.cls_out_channels)
        probabilities[cls_name] = (bias.softmax(-1) if cls_name == 'ce'
                                   else bias.sigmoid())
    num_classes = 3
    ce = probabilities['ce']
    assert ce.shape[1] == num_classes + 1
    assert torch.allclose(ce[:, -1], torch.tensor(0.99))
    assert torch.allclose(ce[:, :-1], torch.tensor(0.01 / num_classes))
    # the sigmoid head keeps MMDetection's bias_prob=0.01 on every class
    assert torch.allclose(probabilities['focal'], torch.tensor(0.01), atol=1e-6)


def test_decoded_option_detected_per_head():
    assert head_has_decoded_option(SHAPES_RETINANET) is True
    assert head_has_decoded_option(COCO_FCOS) is False


class _FakeProcess:
    """Popen stand-in: the first run succeeds, the second is hit by Ctrl-C."""
    calls = 0

    def __init__(self, *args, **kwargs):
        type(self).calls += 1
        self.number = type(self).calls
        self.terminated = False

    def wait(self):
        if self.number == 2 and not self.terminated:
            raise KeyboardInterrupt
        return -15 if self.terminated else 0

    def terminate(self):
        self.terminated = True


def test_ctrl_c_keeps_finished_runs(tmp_path, monkeypatch):
    runs = make_grid(['focal'], ['l1', 'giou', 'ciou'])
    monkeypatch.setattr(runner_module.subprocess, 'Popen', _FakeProcess)
    with pytest.raises(KeyboardInterrupt):
        run_grid(runs, SHAPES_RETINANET, str(tmp_path), True, progress=False,
                 echo=lambda _: None)
    status = {r.name: json.loads((tmp_path / r.name / 'status.json').read_text())
              ['state'] for r in runs[:2]}
    assert status == {'focal_l1': 'done', 'focal_giou': 'interrupted'}
    assert not (tmp_path / 'focal_ciou' / 'status.json').exists()
    # Re-launch: the finished run is skipped, the interrupted one is redone.
    states = run_grid(runs, SHAPES_RETINANET, str(tmp_path), True, progress=False,
                      echo=lambda _: None)
    assert states == {'focal_l1': 'skipped', 'focal_giou': 'done',
                      'focal_ciou': 'done'}


def test_an_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    """Before, a run stopped at iteration 1000 of 1500 was trained again from the
    start; now it resumes from its checkpoint when its key is unchanged."""
    base = tmp_path / 'base.py'
    base.write_text("model = dict(bbox_head=dict(type='RetinaHead'))\n")
    runs = make_grid(['focal'], ['l1'])
    run_dir = tmp_path / 'grid' / 'focal_l1'
    monkeypatch.setattr(runner_module.subprocess, 'Popen', _FakeProcess)
    monkeypatch.setattr(_FakeProcess, 'calls', 1)  # the next process is interrupted
    with pytest.raises(KeyboardInterrupt):
        run_grid(runs, str(base), str(tmp_path / 'grid'), None, progress=False,
                 echo=lambda _: None)
    (run_dir / 'train.log').write_text('first part\n')
    (run_dir / 'iter_1000.pth').write_bytes(b'')
    (run_dir / 'last_checkpoint').write_text('/elsewhere/focal_l1/iter_1000.pth')
    started = _recording(monkeypatch)
    messages = []
    assert run_grid(runs, str(base), str(tmp_path / 'grid'), None, progress=False,
                    echo=messages.append) == {'focal_l1': 'done'}
    assert started[0][0][-1] == '--resume'
    assert messages == ['focal_l1: resuming from iter_1000.pth']
    status = json.loads((run_dir / 'status.json').read_text())
    assert (status['state'], status['resumed_from']) == ('done', 'iter_1000.pth')
    assert (run_dir / 'train.log').read_text().startswith('first part')
    # a run interrupted under another key (its options changed) starts again
    update_status = runner_module.update_status
    update_status(str(run_dir), state='interrupted')
    started.clear()
    run_grid(runs, str(base), str(tmp_path / 'grid'), None, progress=False,
             cfg_options=['train_cfg.max_iters=40'], echo=lambda _: None)
    assert '--resume' not in started[0][0]
    status = json.loads((run_dir / 'status.json').read_text())
    assert 'resumed_from' not in status and status['state'] == 'done'
    # a run started (killed without a status update) but without a checkpoint
    update_status(str(run_dir), state='running')
    (run_dir / 'last_checkpoint').unlink()
    started.clear()
    run_grid(runs, str(base), str(tmp_path / 'grid'), None, progress=False,
             cfg_options=['train_cfg.max_iters=40'], echo=lambda _: None)
    assert '--resume' not in started[0][0]


SIGTERM_SCRIPT = """
import sys, time
from mmdet_losses_lab.ablation import make_grid, run_grid
from mmdet_losses_lab.ablation import runner
runner.train_command = lambda *args: [sys.executable, '-c', 'import time; time.sleep(120)']
try:
    run_grid(make_grid(['focal'], ['l1', 'giou']), sys.argv[1], sys.argv[2], True,
             progress=False)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_sigterm_stops_the_grid_as_ctrl_c_does(tmp_path):
    import signal
    import time

    script = tmp_path / 'grid.py'
    script.write_text(SIGTERM_SCRIPT)
    work_dir = tmp_path / 'grid'
    process = subprocess.Popen([sys.executable, str(script), SHAPES_RETINANET,
                                str(work_dir)], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    log = work_dir / 'focal_l1' / 'train.log'
    deadline = time.time() + 60
    while not log.exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the sleeping child has started
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert 'interrupted during focal_l1' in output
    status = json.loads((work_dir / 'focal_l1' / 'status.json').read_text())
    assert status['state'] == 'interrupted'
    assert not (work_dir / 'focal_giou').exists()


def test_dry_run_prints_launcher_commands(tmp_path):
    lines = []
    runs = make_grid(['focal'], ['l1', 'giou'])
    states = run_grid(runs, SHAPES_RETINANET, str(tmp_path), True, launcher='slurm',
                      dry_run=True, slurm_partition='gpu', echo=lines.append)
    assert states == {'focal_l1': 'planned', 'focal_giou': 'planned'}
    assert lines[0].split()[1:4] == [osp.join(REPO, 'tools', 'slurm_train.sh'), 'gpu',
                                     'focal_l1']
    assert not (tmp_path / 'focal_l1' / 'status.json').exists()


@pytest.mark.slow
def test_shapes_grid_end_to_end(tmp_path):
    """A 2 x 2 grid of 4-iteration shapes runs; the ``bad`` setting fails to build,
    is recorded as failed, and the other runs go on; a re-launch skips what is done."""
    from mmdet_losses_lab.data.shapes import make_shapes
    data = tmp_path / 'shapes'
    make_shapes(str(data), num_train=16, num_val=8)
    work = tmp_path / 'grid'
    root = f'{data}/'
    options = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'train_cfg.max_iters=4',
        'train_cfg.val_interval=4', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=4'
    ]
    command = [sys.executable, osp.join(REPO, 'tools/ablation.py'), SHAPES_RETINANET,
               '--cls', 'focal', 'bce', '--reg', 'giou',
               "bad=dict(type='mmdet_losses.GIoULoss', eps=-1.0)",
               '--work-dir', str(work), '--cfg-options', *options]
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                           timeout=900)
    assert first.returncode == 1, first.stdout + first.stderr  # failed runs reported
    names = ['focal_giou', 'focal_bad', 'bce_giou', 'bce_bad']
    states = {n: json.loads((work / n / 'status.json').read_text())['state']
              for n in names}
    assert states == {'focal_giou': 'done', 'focal_bad': 'failed',
                      'bce_giou': 'done', 'bce_bad': 'failed'}
    assert 'eps must be > 0.0, got -1.0' in (work / 'focal_bad' / 'train.log').read_text()
    runs = make_grid(['focal', 'bce'], ['giou', "bad=dict(type='x')"])
    rows = {r['run']: r for r in collect_results(runs, str(work))}
    for name in ('focal_giou', 'bce_giou'):
        assert 0.0 <= rows[name]['AP'] <= 1.0 and rows[name]['AP50'] >= rows[name]['AP']
        assert rows[name]['loss_bbox'] > 0 and rows[name]['s_per_iter'] > 0
        assert len(rows[name]['curve']) == 4
    assert rows['focal_bad']['AP'] is None
    assert '| focal_bad | focal | bad |' in markdown_table(list(rows.values()))
    for ext in ('csv', 'md', 'png'):
        assert (work / f'summary.{ext}').stat().st_size > 100
    mtime = (work / 'focal_giou' / 'status.json').stat().st_mtime
    second = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                            timeout=900)
    assert second.returncode == 1
    assert (work / 'focal_giou' / 'status.json').stat().st_mtime == mtime

    # What results/ keeps: runs.json and the manifest. Without the run folders the
    # grid still knows what is done and reports the same numbers.
    manifest = json.loads((work / 'manifest.json').read_text())
    assert len(manifest['commands']) == 1  # the same command twice: one entry
    entry = manifest['commands'][0]
    assert entry['command'].startswith('python tools/ablation.py ')
    assert "'bad=dict(type='\"'\"'mmdet_losses.GIoULoss'\"'\"', eps=-1.0)'" in \
        entry['command']
    assert entry['versions']['mmdet'] == mmdet.__version__ and 'commit' in entry
    assert manifest['runs']['focal_giou']['state'] == 'done'
    assert len(manifest['runs']['focal_giou']['key']) == 16
    archived = json.loads((work / 'runs.json').read_text())['runs']
    assert sorted(archived) == sorted(names)
    for name in ('focal_giou', 'bce_giou'):
        shutil.rmtree(work / name)
    third = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                           timeout=900)
    assert third.returncode == 1
    assert not (work / 'focal_giou' / 'status.json').exists()  # not trained again
    again = {r['run']: r for r in collect_results(runs, str(work))}
    for name in ('focal_giou', 'bce_giou'):
        assert again[name]['state'] == 'done'
        assert (again[name]['AP'], again[name]['curve']) == \
            (rows[name]['AP'], rows[name]['curve'])


class _RecordingProcess:
    """Popen stand-in that succeeds and records what it was started with."""
    started = []

    def __init__(self, command, **kwargs):
        type(self).started.append((command, kwargs))

    def wait(self):
        return 0


def _recording(monkeypatch):
    _RecordingProcess.started = []
    monkeypatch.setattr(runner_module.subprocess, 'Popen', _RecordingProcess)
    return _RecordingProcess.started


def test_a_changed_run_is_not_taken_for_done(tmp_path, monkeypatch):
    # Before: changing --cfg-options (20 -> 40 iterations) skipped the runs marked
    # done and reported the old numbers.
    base = tmp_path / 'base.py'
    base.write_text("model = dict(bbox_head=dict(type='RetinaHead'))\n")
    runs = make_grid(['focal'], ['l1'])
    started = _recording(monkeypatch)

    def grid(options):
        return run_grid(runs, str(base), str(tmp_path / 'grid'), None,
                        cfg_options=options, progress=False, echo=lambda _: None)

    assert grid(['train_cfg.max_iters=20']) == {'focal_l1': 'done'}
    status = json.loads((tmp_path / 'grid/focal_l1/status.json').read_text())
    assert status['state'] == 'done' and len(status['key']) == 16
    assert grid(['train_cfg.max_iters=20']) == {'focal_l1': 'skipped'}
    assert grid(['train_cfg.max_iters=40']) == {'focal_l1': 'done'}
    assert len(started) == 2
    # an edit of the base config is a change too
    base.write_text("model = dict(bbox_head=dict(type='RetinaHead', num_classes=3))\n")
    assert grid(['train_cfg.max_iters=40']) == {'focal_l1': 'done'}
    assert grid(['train_cfg.max_iters=40']) == {'focal_l1': 'skipped'}
    # a different setting under the same name (another seed written in the config)
    reseeded = make_grid(['focal'], ['l1'], seeds=[3])
    reseeded[0].name = 'focal_l1'
    assert run_grid(reseeded, str(base), str(tmp_path / 'grid'), None,
                    cfg_options=['train_cfg.max_iters=40'], progress=False,
                    echo=lambda _: None) == {'focal_l1': 'done'}


def test_a_skipped_run_is_archived(tmp_path, monkeypatch):
    """A run done in its folder but missing from runs.json (trained before the grid
    kept one) is archived when a relaunch skips it."""
    _recording(monkeypatch)
    base = tmp_path / 'base.py'
    base.write_text("model = dict(bbox_head=dict(type='RetinaHead'))\n")
    runs = make_grid(['focal'], ['l1'])
    grid = tmp_path / 'grid'
    run_grid(runs, str(base), str(grid), None, progress=False, echo=lambda _: None)
    (grid / 'runs.json').unlink()
    assert run_grid(runs, str(base), str(grid), None, progress=False,
                    echo=lambda _: None) == {'focal_l1': 'skipped'}
    archived = json.loads((grid / 'runs.json').read_text())['runs']
    assert archived['focal_l1']['status']['state'] == 'done'


def test_a_moved_grid_keeps_its_keys(tmp_path, monkeypatch):
    """The same grid in another directory (another checkout, machine or folder name)
    is done already: paths under the grid's directory count relative to it. Before,
    each run's key hashed the absolute path of its base config and data root."""
    started = _recording(monkeypatch)
    keys = {}
    for place in ('first', 'second-place'):
        project = tmp_path / place
        (project / 'configs').mkdir(parents=True)
        (project / 'configs' / 'base.py').write_text(
            "model = dict(bbox_head=dict(type='RetinaHead'))\n")
        monkeypatch.chdir(project)
        run_grid(make_grid(['focal'], ['l1']), 'configs/base.py', 'grid', None,
                 data_root='data/mine', progress=False, echo=lambda _: None)
        keys[place] = json.loads((project / 'grid/focal_l1/status.json').read_text())['key']
    assert keys['first'] == keys['second-place'] and len(started) == 2
    # the key still sees a change of the data root under the directory
    monkeypatch.chdir(tmp_path / 'first')
    run_grid(make_grid(['focal'], ['l1']), 'configs/base.py', 'grid', None,
             data_root='data/other', progress=False, echo=lambda _: None)
    assert json.loads((tmp_path / 'first/grid/focal_l1/status.json').read_text())[
        'key'] != keys['first']


def test_runs_start_in_the_users_directory(tmp_path, monkeypatch):
    # Before: runs started in the checkout, so a user's relative data_root and
    # ann_file silently meant the checkout's data.
    user = tmp_path / 'project'
    user.mkdir()
    started = _recording(monkeypatch)
    monkeypatch.chdir(user)
    run_grid(make_grid(['focal'], ['l1']), SHAPES_RETINANET, 'grid', None,
             data_root='data/mine', progress=False, echo=lambda _: None)
    (command, kwargs), = started
    assert kwargs['cwd'] == str(user)
    index = command.index('--data-root')
    assert command[index + 1] == str(user / 'data/mine')
    assert command[2] == str(user / 'grid/focal_l1/config.py')
    assert (user / 'grid/focal_l1/status.json').exists()


def test_s_per_iter_leaves_out_the_warm_up(tmp_path):
    from mmdet_losses_lab.ablation.report import summarize_run
    from mmdet_losses_lab.ablation.store import folder_record

    run = make_grid(['focal'], ['giou'])[0]
    # logged every 5 iterations, each a mean over the last 10 (window_size): the
    # records at 5, 10 and 15 include iterations 1-10 (building, compiling)
    times = {5: 9.0, 10: 5.0, 15: 2.0, 20: 0.2, 25: 0.3, 30: 0.4}
    _write_scalars(tmp_path / 'run', [{'loss': 1.0, 'time': t, 'iter': i}
                                      for i, t in times.items()])
    vis = tmp_path / 'run' / '20261128_170736' / 'vis_data'
    (vis / 'config.py').write_text(
        "log_processor = dict(by_epoch=False, type='LogProcessor', window_size=10)\n")
    assert summarize_run(run, folder_record(str(tmp_path / 'run')))['s_per_iter'] == \
        pytest.approx(0.3)  # mean of the records at 20, 25 and 30
    # too short for a clean record: the last one
    _write_scalars(tmp_path / 'short', [{'loss': 1.0, 'time': t, 'iter': i}
                                        for i, t in ((5, 9.0), (10, 5.0))])
    assert summarize_run(run, folder_record(str(tmp_path / 'short')))['s_per_iter'] == 5.0


def test_summary_figure_marks_short_runs_and_ends_ap_at_one():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmdet_losses_lab.ablation.plots import _draw_ap, _draw_curves

    rows = [dict(run='short', setting='short', state='done', AP=0.5, AP50=0.7,
                 curve=[(1, 2.0), (2, 1.5)]),
            dict(run='long', setting='long', state='failed', AP=None, AP50=None,
                 curve=[(i, 1.0 / i) for i in range(1, 40)])]
    fig, (bars, curves) = plt.subplots(1, 2)
    _draw_ap(bars, rows)
    _draw_curves(curves, rows, plt)
    assert bars.get_xlim() == (0.0, 1.0)
    short, long = curves.get_lines()
    assert short.get_marker() == 'o' and long.get_marker() in ('None', None, '')
    plt.close(fig)


def test_summary_figure_of_a_large_grid_keeps_labels_and_legend_readable():
    """30 runs (ten settings, three seeds): the bars' labels do not overlap, the
    legend lists the ten settings and the three seeds' line styles, and both
    legends sit beside the curves, not over them."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmdet_losses_lab.ablation.plots import _draw_ap, _draw_curves, figure_size

    rows = [dict(run=f'focal_loss{k}_s{seed}', setting=f'focal_loss{k}', seed=seed,
                 state='done', AP=0.2, AP50=0.4,
                 curve=[(i, (k + 1) / i) for i in range(1, 40)])
            for k in range(10) for seed in (0, 1, 2)]
    fig, (bars, curves) = plt.subplots(1, 2, figsize=figure_size(len(rows), 9, 2))
    _draw_ap(bars, rows)
    _draw_curves(curves, rows, plt)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in bars.get_yticklabels()]
    assert len(boxes) == 30
    for upper, lower in zip(boxes, boxes[1:]):
        assert upper.y0 >= lower.y1 - 0.5  # inverted axis: each label below the last
    legends = [a for a in curves.get_children()
               if isinstance(a, matplotlib.legend.Legend)]
    texts = sorted([t.get_text() for t in legend.get_texts()] for legend in legends)
    assert texts == [[f'focal_loss{k}' for k in range(10)],
                     ['seed 0', 'seed 1', 'seed 2']]
    axes_box = curves.get_window_extent(renderer)
    # what savefig(bbox_inches='tight') keeps, in pixels
    kept = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 >= axes_box.x1
        assert kept.x0 <= box.x0 and box.x1 <= kept.x1 + 0.5
    # line style by seed, colour by setting
    lines = curves.get_lines()
    assert [line.get_linestyle() for line in lines[:3]] == ['-', '--', ':']
    assert lines[0].get_color() == lines[2].get_color() != lines[3].get_color()
    plt.close(fig)


def _ablation_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ablation_tool', osp.join(REPO, 'tools', 'ablation.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('argv, message', [
    ([SHAPES_RETINANET, '--reg', 'l1', 'giou', '--baseline', 'giou'],
     r"--baseline must be one of the settings \['focal_l1', 'focal_giou'\], "
     "got 'giou'"),
    (['mmdet::gfl/gfl_r50_fpn_1x_coco.py', '--cls', 'focal'],
     'GFLHead .* only QualityFocalLoss'),
])
def test_the_tool_refuses_before_any_run(tmp_path, capsys, argv, message):
    import re
    work = tmp_path / 'grid'
    assert _ablation_tool().main(argv + ['--work-dir', str(work)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not any(p.is_dir() for p in work.iterdir())
