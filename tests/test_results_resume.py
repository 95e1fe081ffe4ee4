"""Every grid kept in results/ resumes: its manifest's command, run again from the
repository root with the folder as work dir, gives each finished run the key stored
in runs.json, so nothing is trained again. Fails when a change to the grid (a loss
setting, a head option, a base config) would change what those runs trained."""
import glob
import json
import os.path as osp
import shlex

import pytest

from mmdet_losses_lab.ablation.runner import run_key

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GRIDS = sorted(osp.dirname(p) for p in glob.glob(osp.join(ROOT, 'results', '*',
                                                          'manifest.json')))


def grid_runs(grid_dir):
    """The runs of the grid's last command, as tools/ablation.py makes them."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ablation_tool', osp.join(ROOT, 'tools', 'ablation.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with open(osp.join(grid_dir, 'manifest.json')) as f:
        command = json.load(f)['commands'][-1]['command']
    args = tool.parse_args(shlex.split(command)[2:])
    runs = tool.make_grid(args.cls, args.reg, args.gamma, args.alpha, args.reg_weight,
                          seeds=args.seeds, layout=tool.inspect_detector(args.config))
    return args, runs


@pytest.mark.slow
@pytest.mark.parametrize('grid_dir', GRIDS, ids=osp.basename)
def test_kept_runs_keep_their_keys(grid_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    args, runs = grid_runs(grid_dir)
    with open(osp.join(grid_dir, 'runs.json')) as f:
        kept = json.load(f)['runs']
    done = {name: record['status']['key'] for name, record in kept.items()
            if record['status']['state'] == 'done'}
    assert done
    by_name = {run.name: run for run in runs}
    for name, key in done.items():
        if name not in by_name:  # a run shared from another grid of the page
            continue
        config = tmp_path / name / 'config.py'
        config.parent.mkdir()
        config.write_text(by_name[name].config_text(args.config))
        assert run_key(str(config), args.cfg_options, args.data_root, ROOT) == key, name


def test_every_grid_is_checked():
    assert len(GRIDS) >= 8
