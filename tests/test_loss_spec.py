"""The loss spec (mmdet_losses.spec): every registered loss declares one, next to its
class; what derives from the specs is current (tools/loss_spec.py --check: the
README's table, the docs index, configs/_base_/losses/); the derived lists and
decisions of the library and the lab follow it."""
import os.path as osp
import subprocess
import sys

import pytest
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config

import mmdet_losses
from mmdet_losses import MODELS
from mmdet_losses.engine.doctor import compares_boxes, same_name_different_loss
from mmdet_losses.losses import SPECS, BaseLoss, spec_of
from mmdet_losses.models import QUALITY_LOSSES
from mmdet_losses.spec import (BOXES, HEAD_KINDS, IOU_QUALITY, KINDS, LossSpec,
                               Preset)
from mmdet_losses_lab.ablation import CATEGORY_LOSSES, LOCATION_LOSSES

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRESETS = [(name, preset) for name, spec in SPECS.items() for preset in spec.presets]


def test_every_registered_loss_declares_its_spec():
    registered = [name for name in MODELS.own_names()
                  if issubclass(MODELS.get(name), BaseLoss)]
    assert sorted(SPECS) == sorted(registered)
    for name, spec in SPECS.items():
        assert MODELS.get(name).__dict__['spec'] is spec
        assert spec.loss == name and spec.type == f'mmdet_losses.{name}'
    assert [spec.kind for spec in SPECS.values()] == sorted(
        (spec.kind for spec in SPECS.values()), key=KINDS.index)


def test_export_lists_derive_from_the_specs():
    assert mmdet_losses.losses.__all__ == ['BaseLoss', *SPECS]
    assert mmdet_losses.__all__ == ['MODELS', '__version__', 'BaseLoss', *SPECS]
    assert all(getattr(mmdet_losses, name) is MODELS.get(name) for name in SPECS)
    assert spec_of('mmdet_losses.GIoULoss') is spec_of('GIoULoss') is \
        SPECS['GIoULoss']
    assert spec_of('BoundedIoULoss') is None


@pytest.mark.parametrize('name, preset', PRESETS,
                         ids=[preset.name for _, preset in PRESETS])
def test_every_preset_builds(name, preset):
    spec = SPECS[name]
    built = MMDET_MODELS.build(spec.config(preset))
    assert type(built) is MODELS.get(name)


def test_preset_names_and_files_are_distinct():
    names = [preset.name for _, preset in PRESETS]
    files = [preset.file_stem for _, preset in PRESETS]
    assert len(set(names)) == len(names) and len(set(files)) == len(files)


def test_pages_exist():
    for spec in SPECS.values():
        assert osp.isfile(osp.join(ROOT, 'docs', 'losses', f'{spec.page}.md')), spec


def test_derived_files_are_current():
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'loss_spec.py'),
                             '--check'], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_loss_configs_are_the_presets():
    for name, preset in PRESETS:
        path = osp.join(ROOT, 'configs', '_base_', 'losses', f'{preset.file_stem}.py')
        loss = dict(Config.fromfile(path)[preset.variable])
        loss = {k: tuple(v) if isinstance(v, list) else v for k, v in loss.items()}
        assert loss == SPECS[name].config(preset), path


def test_grid_settings_are_the_presets():
    """Every preset is a grid setting of its side; category settings carry their
    loss's weight, location settings only the weight they fix (GHM-R's)."""
    for name, preset in PRESETS:
        spec = SPECS[name]
        table = CATEGORY_LOSSES if spec.category else LOCATION_LOSSES
        setting = dict(table[preset.name])
        weight = setting.pop('loss_weight', None)
        assert setting == spec.config(preset)
        assert weight == (preset.loss_weight or
                          (spec.uniform_weight if spec.category else None))
    assert len(CATEGORY_LOSSES) + len(LOCATION_LOSSES) == len(PRESETS)


def test_decisions_follow_the_specs():
    for name, spec in SPECS.items():
        assert compares_boxes(MODELS.get(name)) == (spec.compares == BOXES), name
    assert set(QUALITY_LOSSES) == {n for n, s in SPECS.items()
                                   if s.targets == IOU_QUALITY}
    assert set(same_name_different_loss()) == {'CIoULoss', 'EIoULoss', 'SIoULoss'}
    # MMDetection's own box losses carry no spec: the doctor names them
    assert compares_boxes(MMDET_MODELS.get('GIoULoss'))
    assert not compares_boxes(MMDET_MODELS.get('L1Loss'))


def test_a_spec_states_valid_facts():
    with pytest.raises(ValueError, match="kind must be one of .*got 'boxes'"):
        LossSpec(kind='boxes', paper='', page='', use='')
    with pytest.raises(ValueError, match="namesake must be None or one of"):
        LossSpec(kind='box', paper='', page='', use='', namesake='equal')
    with pytest.raises(ValueError, match='weights must give'):
        LossSpec(kind='box', paper='', page='', use='', weights={'anchor': 1.0})
    with pytest.raises(ValueError, match='preset names must be distinct'):
        LossSpec(kind='box', paper='', page='', use='',
                 presets=(Preset('a'), Preset('a', dict(alpha=2.0))))
    spec = LossSpec(kind='coordinate', paper='', page='', use='', weights=3.0)
    assert dict(spec.weights) == dict.fromkeys(HEAD_KINDS, 3.0)
    assert spec.uniform_weight == 3.0 and spec.compares == 'regression targets'
    assert LossSpec(kind='box', paper='', page='', use='').uniform_weight is None
