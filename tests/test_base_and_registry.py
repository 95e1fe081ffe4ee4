"""BaseLoss (through L1Loss and a minimal subclass) and the MODELS registry."""
import textwrap

import mmdet.models.losses as mmdet_losses_module
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmdet_losses
from mmdet_losses import BaseLoss, L1Loss
from mmdet_losses.functional.reduction import AVG_EPS
from mmdet_losses.registry import MODELS

# MMDetection's L1Loss docs: pred [0, 2, 3], target [1, 1, 1] -> |d| = [1, 1, 2].
PRED = [0.0, 2.0, 3.0]
TARGET = [1.0, 1.0, 1.0]


@pytest.mark.parametrize('build, call, expected', [
    ({}, {}, 4.0 / 3),                                   # (1 + 1 + 2) / 3
    ({}, {'weight': [1.0, 0.0, 1.0]}, 1.0),              # (1 + 0 + 2) / 3
    ({'reduction': 'none'}, {}, [1.0, 1.0, 2.0]),
    ({'reduction': 'sum'}, {}, 4.0),
    ({}, {'weight': [1.0, 0.0, 1.0], 'avg_factor': 2.0}, 3.0 / (2.0 + AVG_EPS)),
    ({'loss_weight': 2.5}, {}, 2.5 * 4.0 / 3),
    ({}, {'reduction_override': 'sum'}, 4.0),
    ({'reduction': 'sum'}, {'reduction_override': 'none'}, [1.0, 1.0, 2.0]),
])
def test_l1_reference_values(build, call, expected):
    if 'weight' in call:
        call = dict(call, weight=torch.tensor(call['weight']))
    out = L1Loss(**build)(torch.tensor(PRED), torch.tensor(TARGET), **call)
    torch.testing.assert_close(out, torch.tensor(expected), rtol=1e-7, atol=0)


def test_l1_weight_with_avg_factor_is_one_and_a_half():
    out = L1Loss()(torch.tensor(PRED), torch.tensor(TARGET),
                   weight=torch.tensor([1.0, 0.0, 1.0]), avg_factor=2)
    assert abs(out.item() - 1.5) < 1e-6


def test_l1_gradient():
    # d/dpred mean|pred - target| = sign(pred - target) / 3 = [-1, 1, 1] / 3.
    pred = torch.tensor(PRED, requires_grad=True)
    L1Loss()(pred, torch.tensor(TARGET)).backward()
    torch.testing.assert_close(pred.grad, torch.tensor([-1.0, 1.0, 1.0]) / 3)


def test_l1_matches_mmdet():
    gen = torch.Generator().manual_seed(0)
    pred, target = torch.randn(2, 10, 4, generator=gen)
    weight = torch.rand(10, 4, generator=gen)
    theirs = mmdet_losses_module.L1Loss(loss_weight=0.7)
    ours = L1Loss(loss_weight=0.7)
    for kwargs in ({}, {'weight': weight}, {'weight': weight, 'avg_factor': 3.0},
                   {'reduction_override': 'none'}, {'reduction_override': 'sum'}):
        torch.testing.assert_close(ours(pred, target, **kwargs),
                                   theirs(pred, target, **kwargs))


def test_reduction_override_is_validated():
    with pytest.raises(ValueError, match=r"reduction_override must be one of .*got "
                       r"'avg'"):
        L1Loss()(torch.tensor(PRED), torch.tensor(TARGET), reduction_override='avg')


def test_sum_with_avg_factor_raises():
    with pytest.raises(ValueError, match='avg_factor'):
        L1Loss(reduction='sum')(torch.tensor(PRED), torch.tensor(TARGET),
                                avg_factor=2.0)


@pytest.mark.parametrize('kwargs, match', [
    ({'reduction': 'avg'}, r"reduction must be one of .*got 'avg'"),
    ({'loss_weight': float('nan')}, r'loss_weight must be a finite number.*nan'),
    ({'loss_weight': float('inf')}, r'loss_weight must be a finite number.*inf'),
    ({'loss_weight': '1.0'}, r"loss_weight must be a finite number.*'1.0'"),
])
def test_build_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L1Loss(**kwargs)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r'\(3, 4\).*\(3, 2\)'):
        L1Loss()(torch.zeros(3, 4), torch.zeros(3, 2))


@pytest.mark.parametrize('weight', [torch.zeros(3, 4), torch.zeros(3)])
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_zero_weight_shortcut(weight, reduction):
    # No positive weight: the loss is exactly 0 (even with a huge error) and still
    # reaches pred, so DDP sees a gradient for every parameter.
    pred = torch.full((3, 4), 1e6, requires_grad=True)
    out = L1Loss(reduction=reduction, loss_weight=3.0)(pred, torch.zeros(3, 4),
                                                       weight=weight)
    assert out.item() == 0.0
    out.backward()
    torch.testing.assert_close(pred.grad, torch.zeros(3, 4), rtol=0, atol=0)


def test_zero_weight_with_none_reduction_keeps_shape():
    out = L1Loss(reduction='none')(torch.ones(3, 4), torch.zeros(3, 4),
                                   weight=torch.zeros(3))
    torch.testing.assert_close(out, torch.zeros(3, 4), rtol=0, atol=0)


def test_empty_input_mean_is_zero_with_gradient():
    pred = torch.zeros(0, 4, requires_grad=True)
    out = L1Loss()(pred, torch.zeros(0, 4))
    assert out.item() == 0.0 and out.grad_fn is not None
    out.backward()
    assert pred.grad.shape == (0, 4)


def test_extra_repr_shows_hyper_parameters():
    assert repr(L1Loss(reduction='sum', loss_weight=2.0)) == \
        "L1Loss(reduction='sum', loss_weight=2.0)"


class _ScaledSquare(BaseLoss):
    """A minimal subclass: the contract is loss_fn plus loss_kwargs."""

    loss_fn = staticmethod(lambda pred, target, scale: scale * (pred - target)**2)

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def loss_kwargs(self):
        return {'scale': self.scale}


def test_base_loss_contract():
    # scale 3, errors [1, 2] -> [3, 12]; weight [1, 0.5] -> [3, 6]; loss_weight 2.
    loss = _ScaledSquare(scale=3.0, loss_weight=2.0)
    pred, target = torch.tensor([1.0, 2.0]), torch.zeros(2)
    weight = torch.tensor([1.0, 0.5])
    assert loss(pred, target, weight, reduction_override='sum').item() == 18.0
    assert loss(pred, target, weight).item() == 9.0
    assert loss(pred, target, weight, avg_factor=1.0).item() == \
        pytest.approx(18.0 / (1.0 + AVG_EPS), rel=1e-7)
    assert 'scale=3.0' in repr(loss)


# ---------------------------------------------------------------------- registry

def test_registry_is_a_child_of_mmdet_models():
    assert MODELS.scope == 'mmdet_losses'
    assert MODELS.parent is MMDET_MODELS
    assert MMDET_MODELS.children['mmdet_losses'] is MODELS
    assert mmdet_losses.MODELS is MODELS


@pytest.mark.parametrize('name', ['CrossEntropyLoss', 'FocalLoss', 'L1Loss', 'L2Loss',
                                  'SmoothL1Loss', 'IoULoss', 'GIoULoss'])
def test_scoped_names_build_our_classes(name):
    built = MMDET_MODELS.build(dict(type=f'mmdet_losses.{name}'))
    assert type(built) is getattr(mmdet_losses, name)


def test_scoped_build_passes_arguments():
    built = MMDET_MODELS.build(dict(type='mmdet_losses.L1Loss', loss_weight=2.0))
    out = built(torch.tensor(PRED), torch.tensor(TARGET))
    torch.testing.assert_close(out, torch.tensor(8.0 / 3))


def test_scoped_build_under_mmdet_default_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert type(MMDET_MODELS.build(dict(type='mmdet_losses.L1Loss'))) is L1Loss
        assert type(MMDET_MODELS.build(dict(type='L1Loss'))) is \
            mmdet_losses_module.L1Loss


@pytest.mark.parametrize('name', ['L1Loss', 'GIoULoss', 'FocalLoss',
                                  'CrossEntropyLoss'])
def test_plain_names_stay_mmdet_classes(name):
    built = MMDET_MODELS.build(dict(type=name))
    assert type(built) is getattr(mmdet_losses_module, name)
    assert type(built) is not getattr(mmdet_losses, name)


def test_misspelt_name_gives_mmengine_key_error():
    with pytest.raises(KeyError, match=r'mmdet_losses\.L1Los is not in the .*registry'):
        MMDET_MODELS.build(dict(type='mmdet_losses.L1Los'))


def test_config_with_custom_imports(tmp_path):
    config = tmp_path / 'loss_config.py'
    config.write_text(textwrap.dedent("""
        custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
        loss_cls = dict(type='mmdet_losses.FocalLoss', gamma=2.0, alpha=0.25,
                        loss_weight=1.0)
        loss_bbox = dict(type='mmdet_losses.L1Loss', loss_weight=0.5)
    """))
    cfg = Config.fromfile(str(config))
    loss_cls = MMDET_MODELS.build(cfg.loss_cls)
    loss_bbox = MMDET_MODELS.build(cfg.loss_bbox)
    assert type(loss_cls) is mmdet_losses.FocalLoss and loss_cls.gamma == 2.0
    out = loss_bbox(torch.tensor(PRED), torch.tensor(TARGET))
    torch.testing.assert_close(out, torch.tensor(0.5 * 4 / 3))


def test_config_custom_imports_are_really_imported(tmp_path):
    # The same mechanism with a missing module fails: custom_imports is acted on.
    config = tmp_path / 'bad_config.py'
    config.write_text("custom_imports = dict(imports=['mmdet_losses_missing'], "
                      'allow_failed_imports=False)\n')
    with pytest.raises(ImportError):
        Config.fromfile(str(config))
