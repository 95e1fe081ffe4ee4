"""The two OpenMMLab stacks (mmdet_losses/engine/stack.py): the package requires
neither, each is an extra, the installed one is recognised, and both at once are
refused with a message that says what to do."""
from importlib import metadata

import pytest

import mmdet
from mmdet_losses.engine import stack


def test_requirement_names():
    assert stack.requirement_name('mmdet>=3.0,<3.4') == 'mmdet'
    assert stack.requirement_name('onedl-mmdetection>=3.4,<3.6') == \
        'onedl-mmdetection'
    assert stack.requirement_name('onedl-mmengine') == 'onedl-mmengine'
    assert stack.requirement_name('mmengine[all]; python_version>"3"') == 'mmengine'


def test_the_installed_metadata_requires_no_stack_and_offers_both():
    """A plain install must never pull in either stack's mmdet: beside
    onedl-mmdetection, a requirement on mmdet would install OpenMMLab's over it."""
    requires = metadata.requires('mmdet_losses')
    plain = [r for r in requires if 'extra ==' not in r]
    assert [stack.requirement_name(r) for r in plain] == ['torch']
    for name, requirements in stack.STACKS.items():
        # the metadata may write a requirement's specifiers in another order
        extra = sorted(_normalised(r.split(';')[0]) for r in requires
                       if f'extra == "{name}"' in r)
        assert extra == sorted(_normalised(r) for r in requirements.values()), name


def _normalised(requirement):
    """``'mmdet <3.4, >=3.0'`` -> ``('mmdet', ('<3.4', '>=3.0'))``."""
    name = stack.requirement_name(requirement.strip())
    specifiers = requirement.strip()[len(name):].replace(' ', '')
    return name, tuple(sorted(s for s in specifiers.split(',') if s))


def test_the_installed_stack_is_the_one_whose_mmdet_this_is():
    # OpenMMLab's MMDetection stopped at 3.3; OneDL's fork starts at 3.4
    major_minor = tuple(int(v) for v in mmdet.__version__.split('.')[:2])
    assert stack.installed_stack() == ('onedl' if major_minor >= (3, 4)
                                       else 'openmmlab')


def fake_distributions(monkeypatch, installed):
    def distribution(name):
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return name

    monkeypatch.setattr(metadata, 'distribution', distribution)


def test_both_stacks_at_once_are_refused(monkeypatch):
    fake_distributions(monkeypatch, {'mmdet', 'onedl-mmdetection'})
    with pytest.raises(RuntimeError, match=r"^mmdet and onedl-mmdetection are both "
                       r"installed; they write the same import package 'mmdet'\. "
                       r'Keep one stack per environment'):
        stack.installed_stack()


@pytest.mark.parametrize('installed, expected', [
    ({'mmdet'}, 'openmmlab'), ({'onedl-mmdetection'}, 'onedl'), (set(), None)])
def test_one_stack_or_none(monkeypatch, installed, expected):
    fake_distributions(monkeypatch, installed)
    assert stack.installed_stack() == expected
