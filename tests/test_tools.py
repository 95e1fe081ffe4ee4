"""tools/: test.py and the torchrun scripts on CPUs (a 2-process gloo training that
logs the same loss keys as a 1-process one), and the helpers behind them: CPU
distributed set-up, the checkpoint allow-list, config edits."""
import io
import os
import os.path as osp
import pickle
import re

import pytest
import torch
from mmengine.config import Config

from mmdet_losses.engine.checkpoint import (history_buffer_getattr,
                                           register_safe_globals)
from mmdet_losses_lab.training.config import set_max_iters
from mmdet_losses_lab.training.dist import finish_cpu_distributed, setup_cpu_distributed
from mmdet_losses_lab.training.runner import apply_train_options, load_config
from train_utils import (LOSS_KEYS, PYTHON, RETINANET, ROOT, free_port, log_text,
                         make_data, run, tool_test_metrics, tiny_config, train,
                         train_records, val_records)

SHAPES_RETINANET = RETINANET


# ----------------------------------------------------------------------------------
# End to end (slow): tools/test.py, dist_train.sh, dist_test.sh


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 4-iteration single-process run: its config, work dir, data and records."""
    tmp = tmp_path_factory.mktemp('tools')
    data_root = make_data(str(tmp / 'shapes'), num_train=32, num_val=8)
    config = tiny_config(str(tmp), RETINANET, iters=4)
    work_dir = str(tmp / 'single')
    train(config, work_dir, data_root)
    return dict(config=config, work_dir=work_dir, data_root=data_root,
                checkpoint=osp.join(work_dir, 'iter_4.pth'), tmp=tmp)


@pytest.mark.slow
def test_test_py_evaluates_a_checkpoint(trained, tmp_path):
    out = str(tmp_path / 'results.pkl')
    run([PYTHON, osp.join(ROOT, 'tools', 'test.py'), trained['config'],
         trained['checkpoint'], '--work-dir', str(tmp_path), '--data-root',
         trained['data_root'], '--out', out])
    [metrics] = tool_test_metrics(str(tmp_path))
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 8 and 'pred_instances' in results[0]


@pytest.mark.slow
def test_dist_train_two_cpu_processes(trained, tmp_path):
    work_dir = str(tmp_path / 'dist')
    result = run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), trained['config'], '2',
         '--work-dir', work_dir, '--data-root', trained['data_root']],
        env=dict(PYTHON=PYTHON, PORT=str(free_port())))
    log = log_text(work_dir)
    assert 'Distributed training: True' in log
    assert re.search(r'GPU number: 2\b', log)
    records = train_records(work_dir)  # rank 0 writes the log
    assert [r['iter'] for r in records] == [1, 2, 3, 4]
    single = train_records(trained['work_dir'])
    loss_keys = {k for k in records[0] if k.startswith('loss')}
    assert loss_keys == {k for k in single[0] if k.startswith('loss')} == LOSS_KEYS
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in records)
    [metrics] = val_records(work_dir)  # evaluation gathers both ranks' results
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert 'Traceback' not in result.stderr


@pytest.mark.slow
def test_dist_test_two_cpu_processes(trained, tmp_path):
    run(['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), trained['config'],
         trained['checkpoint'], '2', '--work-dir', str(tmp_path), '--data-root',
         trained['data_root']],
        env=dict(PYTHON=PYTHON, PORT=str(free_port())))
    [metrics] = tool_test_metrics(str(tmp_path))
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0


@pytest.mark.slow
def test_demo_end_to_end_in_miniature(tmp_path):
    import cv2

    work_dir = tmp_path / 'demo'
    result = run([PYTHON, osp.join(ROOT, 'tools', 'demo.py'), '--work-dir',
                  str(work_dir), '--data-root', str(tmp_path / 'shapes'),
                  '--num-train', '16', '--num-val', '8', '--iters', '6',
                  '--num-pictures', '3', '--cfg-options',
                  'model.test_cfg.score_thr=0.0', 'train_dataloader.num_workers=0',
                  'train_dataloader.persistent_workers=False',
                  'val_dataloader.num_workers=0',
                  'val_dataloader.persistent_workers=False'])
    assert 'train: wrote 16 images' in result.stdout
    assert re.search(r'AP @\[\.50:\.95\]\s+0\.\d{3}', result.stdout)
    assert re.search(r'bbox mAP 0\.\d{3}: target 0\.6 (reached|MISSED)', result.stdout)
    picture = cv2.imread(str(work_dir / 'predictions.png'))
    assert picture is not None and picture.shape[1] > 3 * 256
    assert_short_run_with_the_full_log(result, work_dir, iters=6)


def assert_short_run_with_the_full_log(result, work_dir, iters):
    """The demo's terminal: what is trained, a progress bar with the time left, the
    table, where the picture and the log are (about 30 lines, MMEngine's own output
    was about 650 for the miniature); MMEngine's full log in the work dir."""
    lines = result.stdout.splitlines()
    assert len(lines) <= 35, result.stdout
    assert any(line.startswith('training  RetinaNet (bbox_head.loss_cls ')
               for line in lines)
    assert re.search(rf'train: 100%\|.*\| {iters}/{iters} \[\d\d:\d\d<00:00',
                     result.stderr)
    [log_file] = (work_dir).glob('*/*.log')
    assert lines[-2:] == [f'predictions  {work_dir / "predictions.png"}',
                          f'full log     {log_file}']
    for noise in ('System environment', 'Config:', 'Iter(train)',
                  'loading annotations'):
        assert noise not in result.stdout + result.stderr, noise
    log = log_file.read_text()
    for text in ('System environment:', 'Config:', 'Iter(train)',
                 f'Saving checkpoint at {iters} iterations',
                 'Average Precision  (AP) @[ IoU=0.50:0.95'):
        assert text in log, text


@pytest.mark.slow
def test_demo_on_real_images_in_miniature(tmp_path):
    """``--dataset bccd`` from a local archive-like copy: the conversion's report,
    the per-class AP rows, the picture."""
    import cv2
    from voc_utils import bccd_like

    src = bccd_like(str(tmp_path / 'src'))
    work_dir = tmp_path / 'demo'
    result = run([PYTHON, osp.join(ROOT, 'tools', 'demo.py'), '--dataset', 'bccd',
                  '--src', src, '--work-dir', str(work_dir), '--data-root',
                  str(tmp_path / 'bccd'), '--iters', '4', '--num-pictures', '1',
                  '--cfg-options', 'model.test_cfg.score_thr=0.0',
                  'train_dataloader.num_workers=0',
                  'train_dataloader.persistent_workers=False',
                  'val_dataloader.num_workers=0',
                  'val_dataloader.persistent_workers=False'])
    assert 'val: 1 images, 1 boxes (RBC 1); 0 clipped to the image; dropped: ' \
        '1 point-sized (BloodImage_00002)' in result.stdout
    assert 'BCCD val (blood cells), COCO box metric' in result.stdout
    assert re.search(r'AP RBC\s+0\.\d{3}', result.stdout)
    assert re.search(r'bbox mAP 0\.\d{3}: target 0\.45 (reached|MISSED)', result.stdout)
    assert cv2.imread(str(work_dir / 'predictions.png')) is not None
    assert_short_run_with_the_full_log(result, work_dir, iters=4)


def test_tool_help():
    for tool in ('train.py', 'test.py', 'demo.py', 'make_shapes.py', 'voc_to_coco.py',
                 'prepare_bccd.py'):
        result = run([PYTHON, osp.join(ROOT, 'tools', tool), '--help'], timeout=300)
        assert 'usage' in result.stdout


def test_scripts_are_executable_shell():
    for script in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh'):
        path = osp.join(ROOT, 'tools', script)
        assert os.access(path, os.X_OK), script
        run(['bash', '-n', path], timeout=60)


# ----------------------------------------------------------------------------------
# CPU distributed set-up


def test_no_launcher_changes_nothing():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_unknown_launcher_is_an_error():
    with pytest.raises(ValueError, match="launcher must be one of .* got 'torchrun'"):
        setup_cpu_distributed(Config(), 'torchrun')


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path only')
def test_pytorch_launcher_on_cpu_starts_gloo(monkeypatch):
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')),
                      find_unused_parameters=True))
    try:
        assert setup_cpu_distributed(cfg, 'pytorch') is True
        assert torch.distributed.get_backend() == 'gloo'
        assert torch.distributed.get_world_size() == 1
        # the tools end a successful run with a barrier and destroy the group: a
        # gloo group left to the interpreter's shutdown aborted 1 run in 6
        finish_cpu_distributed()
        assert not torch.distributed.is_initialized()
        finish_cpu_distributed()  # a no-op once destroyed
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=True, device_ids=None)


def test_slurm_and_mpi_environments(monkeypatch):
    from mmdet_losses_lab.training.dist import _process_env

    monkeypatch.setenv('SLURM_PROCID', '5')
    monkeypatch.setenv('SLURM_NTASKS', '8')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('MASTER_ADDR', 'node-0')
    monkeypatch.delenv('MASTER_PORT', raising=False)
    monkeypatch.delenv('SLURM_JOB_ID', raising=False)
    assert _process_env('slurm') == (5, 8, 1)
    assert os.environ['MASTER_PORT'] == '29500'
    # inside a job the default follows its id: two jobs on one node do not clash
    monkeypatch.delenv('MASTER_PORT')
    monkeypatch.setenv('SLURM_JOB_ID', '123456')
    assert _process_env('slurm') == (5, 8, 1)
    assert os.environ['MASTER_PORT'] == '23456'

    monkeypatch.setenv('OMPI_COMM_WORLD_RANK', '2')
    monkeypatch.setenv('OMPI_COMM_WORLD_SIZE', '4')
    monkeypatch.setenv('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    assert _process_env('mpi') == (2, 4, 0)
    monkeypatch.delenv('MASTER_ADDR')
    with pytest.raises(KeyError, match='MASTER_ADDR'):
        _process_env('mpi')


# ----------------------------------------------------------------------------------
# Checkpoint allow-list


def test_register_safe_globals_is_idempotent():
    assert register_safe_globals() is True
    assert register_safe_globals() is True


def test_getattr_stand_in_allows_only_statistics():
    from mmengine.logging import HistoryBuffer

    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in ((HistoryBuffer, 'update'), (HistoryBuffer, '__init__'),
                      (os, 'system'), (HistoryBuffer, 0)):
        with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
            history_buffer_getattr(obj, name)


class _GetattrGadget:
    """Pickles as ``getattr(HistoryBuffer, 'update')``: not a statistic."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, 'update')


def test_checkpoint_with_other_getattr_is_refused():
    register_safe_globals()
    buffer = io.BytesIO()
    torch.save({'state_dict': {}, 'gadget': _GetattrGadget()}, buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        torch.load(buffer)


def test_history_buffers_round_trip():
    from mmengine.logging import HistoryBuffer

    register_safe_globals()
    history = HistoryBuffer()
    for value in (1.0, 2.0, 4.0):
        history.update(value)
    buffer = io.BytesIO()
    torch.save({'message_hub': {'log_scalars': {'train/loss': history}},
                'iters': torch.arange(3)}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)['message_hub']['log_scalars']['train/loss']
    assert loaded.mean() == pytest.approx(7.0 / 3)
    assert loaded.statistics('max') == 4.0


# ----------------------------------------------------------------------------------
# Config edits


def test_load_config_and_train_options(tmp_path):
    cfg = load_config(SHAPES_RETINANET, cfg_options={'train_cfg.max_iters': 7},
                      launcher='pytorch')
    assert cfg.launcher == 'pytorch' and cfg.train_cfg.max_iters == 7
    assert cfg.work_dir == osp.join('./work_dirs', osp.splitext(
        osp.basename(SHAPES_RETINANET))[0])
    cfg = load_config(SHAPES_RETINANET, work_dir=str(tmp_path))
    assert cfg.work_dir == str(tmp_path)

    apply_train_options(cfg, amp=True, resume='auto')
    if torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
    else:  # MMEngine's AmpOptimWrapper refuses to start without an accelerator
        assert cfg.optim_wrapper.type == 'mmdet_losses.CPUAutocastOptimWrapper'
        assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.resume is True and cfg.load_from is None
    apply_train_options(cfg, resume='some/iter_10.pth')
    assert cfg.resume is True and cfg.load_from == 'some/iter_10.pth'


def test_set_max_iters_keeps_the_schedule_shape():
    cfg = Config.fromfile(SHAPES_RETINANET)
    old = cfg.train_cfg.max_iters
    warmup_end = cfg.param_scheduler[0].end
    new_iters = old // 10
    set_max_iters(cfg, new_iters)
    warmup, cosine = cfg.param_scheduler
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == new_iters
    assert warmup.end == cosine.begin == round(warmup_end / 10)
    assert cosine.end == new_iters and cosine.T_max == new_iters - cosine.begin
    assert cfg.default_hooks.checkpoint.interval <= new_iters
    set_max_iters(cfg, 1)
    assert all(s.end > s.begin for s in cfg.param_scheduler)
    with pytest.raises(ValueError, match='max_iters must be >= 1, got 0'):
        set_max_iters(cfg, 0)
