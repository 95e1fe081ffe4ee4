"""The category conventions' rules: ignored rows and zero weights ignore garbage,
MMDetection's per-call ``ignore_index`` and FSAF's flat weights, the soft-target focal
form, float64 accuracy, no host synchronisation after the first call, and input errors
through torch.compile."""
import math
import os.path as osp
import warnings

import pytest
import torch
from mmdet.models.losses import CrossEntropyLoss as MMDetCE
from mmdet.models.losses import FocalLoss as MMDetFocal

import mmdet_losses.functional as functional
from mmdet_losses.functional.compile import maybe_compiled
from mmdet_losses.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
LN2 = math.log(2)


def ours(name, **kwargs):
    loss = MODELS.build(dict(type=f'mmdet_losses.{name}', **kwargs))
    assert type(loss).__module__.startswith('mmdet_losses.'), type(loss)
    return loss


# ------------------------------------------------- ignored rows with garbage logits

@pytest.mark.parametrize('name, kwargs', [
    ('FocalLoss', dict(use_sigmoid=False)),
    ('CrossEntropyLoss', dict()),
    ('CrossEntropyLoss', dict(use_sigmoid=True)),
    ('CrossEntropyLoss', dict(label_smoothing=0.1)),
])
@pytest.mark.parametrize('garbage', [math.nan, math.inf, -math.inf])
def test_ignored_row_with_garbage_logits_costs_nothing(name, kwargs, garbage):
    # Row 1 is ignored (label -100) and holds a non-finite logit: the value is that
    # of the other rows, its gradient exactly 0 (NaN * 0 used to be NaN).
    gen = torch.Generator().manual_seed(0)
    channels = 4 if kwargs.get('use_sigmoid') else 5
    pred = torch.randn(3, channels, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, -100, 4 if channels == 4 else 2])
    loss = ours(name, reduction='sum', **kwargs)
    keep = torch.tensor([0, 2])
    clean = loss(pred[keep], labels[keep])
    dirty = pred.clone()
    dirty[1, 1] = garbage
    dirty.requires_grad_()
    out = loss(dirty, labels)
    assert out.item() == pytest.approx(clean.item(), rel=1e-12)
    out.backward()
    assert torch.isfinite(dirty.grad).all()
    assert (dirty.grad[1] == 0).all()


# --------------------------------------------------- MMDetection's call conventions

@pytest.mark.parametrize('use_sigmoid', [False, True])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_ignore_index_per_call_as_mmdet(use_sigmoid, avg_non_ignore):
    gen = torch.Generator().manual_seed(1)
    channels = 4 if use_sigmoid else 5
    pred = torch.randn(12, channels, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 5, (12, ), generator=gen)
    labels[::4] = 3
    mine = ours('CrossEntropyLoss', use_sigmoid=use_sigmoid,
                avg_non_ignore=avg_non_ignore)
    theirs = MMDetCE(use_sigmoid=use_sigmoid, avg_non_ignore=avg_non_ignore)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        expected = theirs(pred, labels, ignore_index=3)
    # mmdet computes the sigmoid form in float32 (it casts the targets)
    torch.testing.assert_close(mine(pred, labels, ignore_index=3), expected,
                               rtol=1e-6 if use_sigmoid else 1e-12, atol=0,
                               check_dtype=False)
    # the per-call value overrides the module's; without it, the module's holds
    assert mine(pred, labels).item() != pytest.approx(expected.item())


def test_fsaf_flat_weights_as_mmdet():
    # FSAF passes (N * C,) weights for an (N, C) prediction; mmdet reshapes them.
    gen = torch.Generator().manual_seed(2)
    pred = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 5, (6, ), generator=gen)
    weight = torch.rand(24, generator=gen, dtype=torch.float64)
    expected = MMDetFocal()(pred, labels, weight=weight, avg_factor=3.0)
    torch.testing.assert_close(ours('FocalLoss')(pred, labels, weight=weight,
                                                 avg_factor=3.0), expected,
                               rtol=1e-12, atol=0)
    torch.testing.assert_close(
        ours('FocalLoss')(pred, labels, weight=weight.reshape(6, 4), avg_factor=3.0),
        expected, rtol=1e-12, atol=0)


def test_wrong_flat_weight_says_what_to_pass():
    with pytest.raises(ValueError, match=r'one flat dimension with as many elements'):
        ours('FocalLoss')(torch.zeros(6, 4), torch.zeros(6, dtype=torch.long),
                          weight=torch.ones(23))


# -------------------------------------------------------------- soft-target focal

def test_soft_target_focal_is_mmdet_form_and_documented():
    # x = 0, t = 0.2, gamma = 2, no alpha: q = 0.5 * 0.8 + 0.5 * 0.2 = 0.5, so
    # FL = 0.25 ln 2 = 0.1733; |t - p|^2 ln 2 = 0.09 ln 2 = 0.0624 is QFL's value.
    pred = torch.zeros(1, 1, dtype=torch.float64)
    target = torch.full((1, 1), 0.2, dtype=torch.float64)
    focal = ours('FocalLoss', alpha=None, reduction='none')(pred, target)
    assert focal.item() == pytest.approx(0.25 * LN2, rel=1e-12)
    assert focal.item() == pytest.approx(
        MMDetFocal(alpha=0.5, reduction='none')(pred, target).item() * 2, rel=1e-12)
    qfl = ours('QualityFocalLoss', reduction='none')(pred, target)
    assert qfl.item() == pytest.approx(0.09 * LN2, rel=1e-12)
    for path in ('docs/losses/focal.md', 'mmdet_losses/functional/category/focal.py'):
        with open(osp.join(REPO, path), encoding='utf-8') as f:
            text = f.read()
        assert '|t - p|^gamma' not in text and '|t - p|^{\\gamma}' not in text, path
        assert 'q = p (1 - t) + (1 - p) t' in text, path


# ------------------------------------------------------------------ float64 exact

@pytest.mark.parametrize('smoothing', [0.1, 0.3])
def test_float64_sigmoid_ce_with_smoothing_is_float64_accurate(smoothing):
    # t = 1 - s/2 on the label, s/2 elsewhere; BCE(x, t) = (1 - t) x + softplus(-x).
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(50, 7, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 8, (50, ), generator=gen)
    onehot = torch.nn.functional.one_hot(labels, 8)[:, :7].double()
    t = onehot * (1 - smoothing) + smoothing / 2
    expected = (1 - t) * pred + torch.nn.functional.softplus(-pred)
    loss = ours('CrossEntropyLoss', use_sigmoid=True, label_smoothing=smoothing,
                reduction='none')
    none = loss(pred, labels)
    torch.testing.assert_close(none, expected, rtol=1e-14, atol=1e-15)
    total = loss(pred, labels, reduction_override='sum')
    assert total.item() == pytest.approx(none.sum().item(), rel=1e-13)


# ------------------------------------------------- no host synchronisation, on meta

META_CASES = [
    ('FocalLoss', {}, 'labels'),
    ('FocalLoss', dict(use_sigmoid=False), 'softmax'),
    ('CrossEntropyLoss', {}, 'softmax'),
    ('CrossEntropyLoss', dict(use_sigmoid=True, avg_non_ignore=True), 'labels'),
    ('QualityFocalLoss', {}, 'tuple'),
    ('VarifocalLoss', {}, 'tuple'),
    ('GHMC', dict(momentum=0.5), 'labels'),
    ('DistributionFocalLoss', {}, 'distribution'),
    ('GIoULoss', {}, 'boxes'),
    ('L1Loss', {}, 'boxes'),
]


def meta_inputs(kind, n=64, c=8):
    d = 'meta'
    if kind == 'softmax':
        return torch.randn(n, c + 1, device=d), torch.zeros(n, dtype=torch.long, device=d)
    if kind == 'labels':
        return torch.randn(n, c, device=d), torch.zeros(n, dtype=torch.long, device=d)
    if kind == 'tuple':
        return torch.randn(n, c, device=d), (torch.zeros(n, dtype=torch.long, device=d),
                                             torch.rand(n, device=d))
    if kind == 'distribution':
        return torch.randn(n, 17, device=d), torch.rand(n, device=d)
    return torch.rand(n, 4, device=d), torch.rand(n, 4, device=d)


@pytest.mark.parametrize('name, kwargs, kind', META_CASES,
                         ids=[f'{n}-{k}' for n, _, k in META_CASES])
def test_no_host_synchronisation_after_the_first_call(name, kwargs, kind):
    # Meta tensors have no data: any host synchronisation (item, bool, int) raises.
    # After the first call on a device (its data checks done), forward and backward
    # with weights and a tensor avg_factor, the no-positive case included, run
    # without one.
    loss = ours(name, **kwargs).to('meta')
    loss.__dict__['_checked_devices'] = {'meta'}
    loss.__dict__['_background_checked'] = True
    pred, target = meta_inputs(kind)
    pred.requires_grad_()
    for weight in (torch.ones(pred.shape[0], device='meta'),
                   torch.zeros(pred.shape[0], device='meta')):
        out = loss(pred, target, weight=weight,
                   avg_factor=torch.tensor(5.0, device='meta'))
        out.backward()
        assert out.device.type == 'meta' and pred.grad.shape == pred.shape


def test_first_call_on_a_device_checks_the_data():
    loss = ours('FocalLoss').to('meta')
    pred, target = meta_inputs('labels')
    with pytest.raises(RuntimeError, match='meta'):
        loss(pred, target)  # the label-range check needs the data


# ------------------------------------------------------- input errors and compile

def test_input_error_through_compile_propagates_and_keeps_compiling():
    @maybe_compiled
    def checked_square(x):
        if x.shape[-1] != 4:
            raise ValueError(f'x must have 4 columns, got {tuple(x.shape)}')
        return x * x

    previous = functional.get_compile()
    functional.set_compile('auto')
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            with pytest.raises(ValueError, match=r'x must have 4 columns, got \(3, 5\)'):
                checked_square(torch.ones(3, 5))
        assert not [w for w in caught if 'torch.compile of' in str(w.message)]
        assert 'cpu' not in checked_square._failed
        torch.testing.assert_close(checked_square(torch.full((2, 4), 3.0)),
                                   torch.full((2, 4), 9.0))
    finally:
        functional.set_compile(previous)


def test_compiler_failure_falls_back_with_a_warning(monkeypatch):
    @maybe_compiled
    def double(x):
        return 2 * x

    def broken_compile(fn, **kwargs):
        def run(*args, **kw):
            raise RuntimeError('backend exploded')
        return run

    monkeypatch.setattr(torch, 'compile', broken_compile)
    previous = functional.get_compile()
    functional.set_compile('auto')
    monkeypatch.setattr(double, 'use_compiled', lambda device: 'cpu' not in double._failed)
    try:
        with pytest.warns(UserWarning, match='backend exploded'):
            out = double(torch.ones(3))
        torch.testing.assert_close(out, torch.full((3, ), 2.0))
        assert 'cpu' in double._failed
    finally:
        functional.set_compile(previous)
