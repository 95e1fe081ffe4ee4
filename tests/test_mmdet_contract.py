"""docs/losses/mmdet_contract.md against both packages: a row for every registered
loss that MMDetection has a class of the same name for (its spec's ``namesake``),
naming every constructor argument of that class; the arguments it says ours refuses
are refused, every other one is taken."""
import inspect
import os.path as osp
import re

import mmdet.models.losses as mmdet_losses_module
import pytest

from mmdet_losses import MODELS
from mmdet_losses.losses import SPECS, BaseLoss
from spec_helpers import required_options

PAGE = osp.join(osp.dirname(osp.dirname(__file__)), 'docs', 'losses',
                'mmdet_contract.md')
REGISTERED = sorted(name for name in MODELS.own_names()
                    if issubclass(MODELS.get(name), BaseLoss))


def constructor_rows():
    """Loss name -> (MMDetection's arguments cell, refused cell) of the table."""
    rows = {}
    with open(PAGE, encoding='utf-8') as f:
        for line in f:
            cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
            if len(cells) == 4 and cells[0].startswith('`'):
                for name in re.findall(r'`(\w+)`', cells[0]):
                    rows[name] = (cells[1], cells[3])
    return rows


def names(cell: str):
    return set(re.findall(r'`(\w+)`', cell))


def mmdet_arguments(name: str):
    theirs = getattr(mmdet_losses_module, name, None)
    if theirs is None:
        return None
    parameters = inspect.signature(theirs.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.name != 'self'
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def test_every_loss_with_an_mmdetection_namesake_has_a_row():
    assert set(constructor_rows()) == {name for name in REGISTERED
                                       if SPECS[name].namesake is not None}


@pytest.mark.parametrize('name', REGISTERED)
def test_namesake_says_whether_mmdetection_has_the_class(name):
    assert (SPECS[name].namesake is None) == (mmdet_arguments(name) is None), name


@pytest.mark.parametrize('name', [name for name in REGISTERED
                                  if SPECS[name].namesake is not None])
def test_row_names_mmdets_arguments_and_ours_takes_the_rest(name):
    listed, refused = constructor_rows()[name]
    arguments = mmdet_arguments(name)
    assert names(listed) == set(arguments), name
    refused = names(refused)
    assert refused <= set(arguments)
    ours = MODELS.get(name)
    for argument, default in arguments.items():
        if argument in refused:
            with pytest.raises(TypeError, match=argument):
                ours(**required_options(name), **{argument: default})
        else:
            ours(**required_options(name), **{argument: default})
