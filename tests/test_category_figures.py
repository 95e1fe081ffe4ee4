"""tools/plot_category_curves.py: the curves behind the category figures against
their closed forms, and the files it writes."""
import importlib.util
import math
import os.path as osp

import pytest
import torch

from mmdet_losses.losses import SPECS
from mmdet_losses.spec import CLASS_SCORES, DISTRIBUTIONS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'plot_category_curves', osp.join(ROOT, 'tools', 'plot_category_curves.py'))
curves = importlib.util.module_from_spec(spec)
spec.loader.exec_module(curves)

P = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)


def bce(p, t):
    return -(t * torch.log(p) + (1 - t) * torch.log1p(-p))


def test_qfl_and_soft_focal_closed_forms():
    result = curves.qfl_curves(P)
    for y in curves.QFL_TARGETS:
        torch.testing.assert_close(result['qfl'][y], (y - P) ** 2 * bce(P, y))
        q = P * (1 - y) + (1 - P) * y
        torch.testing.assert_close(result['focal'][y], q ** 2 * bce(P, y))
    # At p = y = 1/2 QFL is 0, while the soft focal loss has q = 1/2: 0.25 ln 2.
    at_half = result['qfl'][0.5][49]
    assert P[49].item() == pytest.approx(0.5) and at_half.item() == pytest.approx(0.0)
    assert result['focal'][0.5][49].item() == pytest.approx(0.25 * math.log(2))


def test_vfl_closed_forms():
    result = curves.vfl_curves(P)
    for q in curves.VFL_TARGETS:
        torch.testing.assert_close(result[f'positive, q = {q:g}'], q * bce(P, q))
    negative = 0.75 * P ** 2 * bce(P, 0.0)
    torch.testing.assert_close(result['negative (q = 0)'], negative)
    torch.testing.assert_close(result['focal negative (alpha 0.25)'], negative)


def test_dfl_is_minus_log_probability_at_bins_and_linear_between():
    log_s = torch.tensor(curves.DFL_LOGITS, dtype=torch.float64).log_softmax(0)
    bins = torch.arange(len(curves.DFL_LOGITS), dtype=torch.float64)
    torch.testing.assert_close(curves.dfl_curve(bins), -log_s)
    middle = curves.dfl_curve(torch.tensor([2.25], dtype=torch.float64))
    torch.testing.assert_close(middle, -(0.75 * log_s[2:3] + 0.25 * log_s[3:4]))


def test_ghm_bin_weights_are_n_over_filled_bins_times_count():
    g = torch.tensor([0.05, 0.05, 0.05, 0.55, 0.95], dtype=torch.float64)
    centres, weights = curves.ghm_bin_weights(g, 10)
    # N = 5, n = 3 filled bins: bin 0 holds 3 -> 5 / 9, bins 5 and 9 hold 1 -> 5 / 3
    expected = torch.zeros(10, dtype=torch.float64)
    expected[0], expected[5], expected[9] = 5 / 9, 5 / 3, 5 / 3
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(centres, torch.arange(10, dtype=torch.float64) / 10 + 0.05)


def test_writes_every_figure(tmp_path):
    paths = curves.main(['--out', str(tmp_path)])
    # every category, quality and distribution loss's page (its spec) but those of
    # cross-entropy and focal, which tools/plot_loss_curves.py draws
    assert sorted(paths) == sorted(
        spec.page for spec in SPECS.values()
        if spec.compares in (CLASS_SCORES, DISTRIBUTIONS)
        and spec.page not in ('cross_entropy', 'focal'))
    assert {'dfl', 'ghmc', 'qfl', 'vfl'} <= set(paths)
    for path in paths.values():
        assert osp.getsize(path) > 5000
    for name in paths:
        assert osp.exists(osp.join(ROOT, 'docs', 'figures', 'losses', f'{name}.png'))
        with open(osp.join(ROOT, 'docs', 'losses', f'{name}.md'), encoding='utf-8') as f:
            assert f'../figures/losses/{name}.png' in f.read()
